# a tanh RNN unrolled over two steps: W, U, b are shared by both
input x1[d]
input x2[d]
target y[k]
param W[m, m]
param U[m, d]
param b[m]
param V[k, m]
h1 = tanh(U @ x1 + b)
h2 = tanh(W @ h1 + U @ x2 + b)
yhat = softmax(V @ h2)
L = ce(yhat, y)
wrt W, U, b
