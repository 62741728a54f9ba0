"""Resize and blur an image (Pillow): a file in, a file out."""

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field


class Predictor:
    def load(self) -> None:
        from PIL import Image

        self.Image = Image

    def predict(
        self,
        image: Annotated[Path, Field(description="The picture", json_schema_extra={"accept": "image/*"})],
        mode: Literal["fit", "fill"] = "fit",
        width: Annotated[int, Field(ge=1, le=1024)] = 32,
        blur: Annotated[float, Field(ge=0.0, le=10.0, description="Gaussian radius")] = 1.0,
    ) -> Path:
        from PIL import ImageFilter, ImageOps, UnidentifiedImageError

        try:
            img = self.Image.open(image).convert("RGB")
        except UnidentifiedImageError:
            raise ValueError("input 'image': not an image Pillow can read") from None
        size = (width, max(1, round(img.height * width / img.width)))
        img = ImageOps.fit(img, size) if mode == "fill" else ImageOps.contain(img, size)
        img = img.filter(ImageFilter.GaussianBlur(blur))
        out = Path(tempfile.mkdtemp()) / "filtered.png"
        img.save(out)
        return out
