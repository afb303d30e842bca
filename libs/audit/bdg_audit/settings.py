"""Settings of the audit trail (pydantic-settings); the README's Audit section lists them."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", frozen=True, populate_by_name=True
    )

    bdg_home: Path = Field(default=Path(".bdg"), description="state dir of the embedded stack")
    # AWS_ENDPOINT_URL and the AWS_* credentials are boto3's own names (compose sets those).
    bdg_s3_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("bdg_s3_endpoint", "aws_endpoint_url"),
        description="S3 API URL; unset = embedded SeaweedFS under BDG_HOME",
    )
    bdg_s3_bucket: str = Field(default="bdg-audit", min_length=3)
    bdg_s3_region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("bdg_s3_region", "aws_default_region")
    )
    bdg_s3_access_key: str = Field(
        default="bdg",
        validation_alias=AliasChoices("bdg_s3_access_key", "aws_access_key_id"),
        description="ignored by embedded SeaweedFS",
    )
    bdg_s3_secret_key: str = Field(
        default="bdg-secret",
        validation_alias=AliasChoices("bdg_s3_secret_key", "aws_secret_access_key"),
        description="ignored by embedded SeaweedFS",
    )
    bdg_audit_prefix: str = Field(default="audit", pattern=r"^[A-Za-z0-9._-]+$")
    bdg_audit_keys_dir: Path | None = Field(
        default=None, description="signing keys; unset = BDG_HOME/audit-keys"
    )
    bdg_audit_rotate_days: float = Field(default=30.0, gt=0, description="key age before rotation")
    bdg_retention_seconds: float = Field(
        default=3600.0, gt=0, description="how often the tenants' retention is applied"
    )
    bdg_audit_retry_seconds: float = Field(
        default=30.0, gt=0, description="look for unwritten files (S3 was down) this often"
    )

    bdg_audit_digest_seconds: float = Field(
        default=3600.0, ge=60, description="period of the signed digest files"
    )

    bdg_audit_export_max_days: int = Field(
        default=366, ge=1, description="longest date range one export may ask for"
    )

    @property
    def keys_dir(self) -> Path:
        return self.bdg_audit_keys_dir or self.bdg_home / "audit-keys"
