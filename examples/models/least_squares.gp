# least squares
input A[n, d]
input b[n]
param x[d]
r = A @ x - b
L = 0.5 * sum(r ** 2)
