# softmax regression with weight decay
input x[d]
target y[k]
param W[k, d]
param b[k]
const lam                 # a scalar from --params; never differentiated
yhat = softmax(W @ x + b)
L = ce(yhat, y) + lam / 2 * sum(W * W)
wrt W, b
