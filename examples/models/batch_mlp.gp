# two-layer ReLU net on a batch (rows of X), mean cross-entropy
input X[N, d]
target Y[N, k]
param W1[m, d]
param b1[m]
param W2[k, m]
param b2[k]
H = relu(X @ W1.T + b1)
Z = H @ W2.T + b2
L = -mean(sum(Y * log_softmax(Z), 1))
wrt W1, b1, W2, b2
