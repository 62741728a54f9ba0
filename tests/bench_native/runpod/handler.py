"""text-stats as a plain RunPod handler (RunPod's "Handler functions" page), for the bench."""

import runpod
from predict import Predictor

predictor = Predictor()
predictor.load()


def handler(job):
    return predictor.predict(**job["input"])


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
