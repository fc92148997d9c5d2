# Gaussian negative log-likelihood with a learned log-variance s
input x[d]
target y
param w[d]
param s
mu = w @ x
L = 0.5 * exp(-s) * (y - mu) ** 2 + 0.5 * s
