# single-query dot-product attention
input q[d]
input K[n, d]
input V[n, e]
target y[e]
a = softmax(K @ q / 2)
o = V.T @ a
L = mse(o, y)
wrt q, K, V
