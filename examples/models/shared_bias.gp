# P1: one bias b shared by both affine layers, generic g, g1 and loss
input x[d]
target y[m]
param W[m, d]
param U[m, m]
param b[m]
function g
function g1
loss l
h1 = g(W @ x + b)
yhat = g1(U @ h1 + b)
L = l(yhat, y)
wrt b
