"""text-stats as a plain Truss model (Truss's "Model class" docs), for the bench."""

from predict import Predictor


class Model:
    def __init__(self, **kwargs):
        self._predictor = None

    def load(self):
        self._predictor = Predictor()
        self._predictor.load()

    def predict(self, model_input: dict) -> dict:
        return self._predictor.predict(**model_input)
