# tied-weight autoencoder: W encodes, Wᵀ decodes
input x[d]
param W[m, d]
param b[m]
param c[d]
h = sigmoid(W @ x + b)
xhat = W.T @ h + c
L = mse(xhat, x)
wrt W
