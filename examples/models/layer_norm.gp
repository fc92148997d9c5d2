# layer normalisation of one vector, then a squared-error loss
input x[n]
target y[n]
param gamma[n]
param beta[n]
mu = mean(x)
xc = x - mu
var = mean(xc * xc)
xn = xc / sqrt(var + 0.00001)
h = gamma * xn + beta
L = mse(h, y)
wrt x, gamma, beta
