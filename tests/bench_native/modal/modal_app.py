"""text-stats as a plain Modal class (Modal's "Classes" and "Web endpoints" guides), for the
bench."""

from pathlib import Path

import modal

HERE = Path(__file__).parent
image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install("pydantic>=2", "fastapi[standard]")
    .add_local_dir(HERE / "assets", remote_path="/root/assets")
    .add_local_file(HERE / "predict.py", remote_path="/root/predict.py")
)
app = modal.App("text-stats-native", image=image)


@app.cls()
class Model:
    @modal.enter()
    def load(self) -> None:
        from predict import Predictor

        self.predictor = Predictor()
        self.predictor.load()

    @modal.method()
    def predict(self, text: str, top_k: int = 3, case: str = "lower",
                stopwords: list[str] | None = None) -> dict:
        return self.predictor.predict(text=text, top_k=top_k, case=case, stopwords=stopwords)

    @modal.fastapi_endpoint(method="POST")
    def web(self, body: dict) -> dict:
        return self.predictor.predict(**body)
