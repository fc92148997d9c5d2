# one LSTM step
input x[d]
input h_prev[m]
input c_prev[m]
target y[m]
param Wf[m, d], Uf[m, m], bf[m]
param Wi[m, d], Ui[m, m], bi[m]
param Wo[m, d], Uo[m, m], bo[m]
param Wc[m, d], Uc[m, m], bc[m]
f = sigmoid(Wf @ x + Uf @ h_prev + bf)      # forget gate
i = sigmoid(Wi @ x + Ui @ h_prev + bi)      # input gate
o = sigmoid(Wo @ x + Uo @ h_prev + bo)      # output gate
g = tanh(Wc @ x + Uc @ h_prev + bc)         # candidate
c = f * c_prev + i * g
h = o * tanh(c)
L = mse(h, y)
wrt c_prev, bf
