"""The deployer's view of the edge over HTTP: per-release counts, a release's health check.

``*.localhost`` names are not resolved here: requests go to the edge's address with the site's
``Host`` header, which is what a browser resolving ``*.localhost`` to the loopback sends.
"""

from __future__ import annotations

import httpx

from bdg_contracts.release_events import ReleaseCounts


class EdgeClient:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout

    async def counts(self) -> dict[str, ReleaseCounts]:
        """What the edge served, per release."""
        return await self._counts("/_bdg/stats")

    async def beacons(self) -> dict[str, ReleaseCounts]:
        """What the pages of cloud releases reported to the edge's collector, per release."""
        return await self._counts("/_bdg/beacons")

    async def _counts(self, path: str) -> dict[str, ReleaseCounts]:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            answer = await client.get(f"{self.base_url}{path}")
            answer.raise_for_status()
        return {
            name: ReleaseCounts(release=name, **{k: v for k, v in c.items()})
            for name, c in answer.json().items()
        }

    async def healthy(self, host: str) -> tuple[bool, str]:
        """A release's preview answers its index with a 200 (no canary traffic before)."""
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.get(f"{self.base_url}/", headers={"host": host})
        except httpx.HTTPError as error:
            return False, f"edge unreachable: {error}"
        return answer.status_code == 200, f"{answer.status_code} {answer.text[:300]}"
