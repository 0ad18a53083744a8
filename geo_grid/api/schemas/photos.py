"""POST /reports/{id}/photos, GET /reports/{id}/photos: report photos (files at GET /photos/{id})."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PhotoOut(BaseModel):
    """A stored photo: re-encoded without metadata (EXIF, GPS), with a thumbnail."""

    id: int = Field(description="照片编号")
    report_id: int | None = Field(description="所属上报编号")
    content_type: str = Field(description="存储格式：image/jpeg 或 image/webp", examples=["image/jpeg"])
    width: int = Field(description="宽（像素）")
    height: int = Field(description="高（像素）")
    bytes: int = Field(description="文件大小（字节）")
    sha256: str = Field(description="存储文件的 SHA-256")
    url: str = Field(description="照片地址（仅有权查看该上报者可取）", examples=["/photos/1"])
    thumb_url: str = Field(description="缩略图地址", examples=["/photos/1/thumb"])
    uploaded_by: str = Field(description="上传者")
    created_at: datetime = Field(description="上传时间")
