# residual block with a squared-error loss
input x[d]
target y[d]
param W1[m, d]
param b1[m]
param W2[d, m]
h = x + W2 @ relu(W1 @ x + b1)
L = mse(h, y)             # ½‖h − y‖²
wrt x, W1, b1, W2
