"""A user's own model code (factories of every family), loaded by path in the model-form tests."""
import torch
from torch import nn


class CNN(nn.Module):
    def __init__(self, n_channels=1, n_classes=2):
        super().__init__()
        self.features = nn.Sequential(nn.Conv1d(n_channels, 6, 5, padding=2), nn.BatchNorm1d(6), nn.ReLU(),
                                      nn.Conv1d(6, 8, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(8, n_classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


class RNN(nn.Module):
    def __init__(self, n_channels=1, n_classes=2, cell="lstm"):
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(n_channels, 8, batch_first=True)
        self.fc = nn.Linear(8, n_classes)

    def forward(self, x):
        out, _ = self.rnn(x.transpose(1, 2))
        return self.fc(out[:, -1])


class Transformer(nn.Module):
    def __init__(self, n_channels=1, n_classes=2):
        super().__init__()
        self.embed = nn.Linear(n_channels, 8)
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.fc = nn.Linear(8, n_classes)

    def forward(self, x):
        return self.fc(self.encoder(self.embed(x.transpose(1, 2))).mean(1))


class Forecaster(nn.Module):
    def __init__(self, n_channels=1, length=32, horizon=4):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(n_channels, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(4 * length, horizon))

    def forward(self, x):
        return self.net(x)


class CNNLSTM(nn.Module):
    def __init__(self, n_channels=1, n_classes=2):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(n_channels, 6, 3, padding=1), nn.ReLU())
        self.lstm = nn.LSTM(6, 8, batch_first=True)
        self.fc = nn.Linear(8, n_classes)

    def forward(self, x):
        out, _ = self.lstm(self.conv(x).transpose(1, 2))
        return self.fc(out[:, -1])


def make(kind="cnn", **kw):
    torch.manual_seed(0)
    return {"cnn": CNN, "lstm": lambda **k: RNN(cell="lstm", **k), "gru": lambda **k: RNN(cell="gru", **k),
            "transformer": Transformer, "forecaster": Forecaster, "cnn_lstm": CNNLSTM}[kind](**kw)
