"""axe-core on every page the browser tests open (WCAG 2.0/2.1, levels A and AA).

The `browser` fixture hands out an `AuditedBrowser`: every context it makes gets axe-core
(from the npm registry, tests/e2e/axe) as an init script, so it is present in every document
the context loads. After each load, and after each htmx swap, the page runs axe and reports
the violations through a binding; when the fixture ends, any violation fails the test with the
page, the rule, its impact and the first elements it names.

Pages audited and the time spent auditing are appended to test-artifacts/axe-summary.jsonl
(one line per test) — the figures of the accessibility issue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

_RUNNER = """
(() => {
  if (window.top !== window || window.__fvAxeInstalled) return;
  window.__fvAxeInstalled = true;
  let running = null;
  let again = false;
  const run = () => {
    if (running) { again = true; return running; }
    const started = performance.now();
    running = axe.run(document, {runOnly: {type: 'tag', values: TAGS}, resultTypes: ['violations']})
      .then((result) => window.__fvAxe(location.pathname + location.search, performance.now() - started,
        result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' '))}))))
      .catch((error) => window.__fvAxe(location.pathname, 0, [{id: 'axe-error', impact: 'critical',
          help: String(error), nodes: []}]))
      .finally(() => { running = null; if (again) { again = false; run(); } });
    return running;
  };
  window.__fvAxeRun = run;
  window.addEventListener('load', () => setTimeout(run, 0));
  document.addEventListener('htmx:afterSettle', () => setTimeout(run, 0));
})();
"""


@dataclass
class AxeAudit:
    pages: list[str] = field(default_factory=list)
    seconds: float = 0.0
    violations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def record(
        self, _source: Any, url: str, elapsed_ms: float, found: list[dict[str, Any]]
    ) -> None:
        self.pages.append(url)
        self.seconds += float(elapsed_ms) / 1000
        self.violations.extend((url, violation) for violation in found)

    def report(self) -> str:
        lines = []
        for url, violation in self.violations:
            nodes = ", ".join(violation.get("nodes") or [])
            lines.append(
                f"{url}: {violation['id']} ({violation.get('impact')}) — {violation.get('help')}"
                f" — {nodes}"
            )
        return "\n".join(dict.fromkeys(lines))


class AuditedBrowser:
    """A Playwright Browser whose every context audits its pages with axe-core."""

    def __init__(self, browser: Any, audit: AxeAudit) -> None:
        self._browser = browser
        self._contexts: list[Any] = []
        self.audit = audit
        self._script = "const TAGS = " + json.dumps(list(TAGS)) + ";\n" + _RUNNER

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    def new_context(self, **kwargs: Any) -> Any:
        context = self._browser.new_context(**kwargs)
        context.add_init_script(path=str(AXE_JS))
        context.add_init_script(script=self._script)
        context.expose_binding("__fvAxe", self.audit.record)
        self._contexts.append(context)
        return context

    def new_page(self, **kwargs: Any) -> Any:
        return self.new_context(**kwargs).new_page()

    def flush(self) -> None:
        """Audit the pages still open once more (their last state), waiting for the result."""
        for context in self._contexts:
            try:
                pages = list(context.pages)
            except Exception:  # a closed context has nothing left to audit
                continue
            for page in pages:
                try:
                    page.evaluate("() => window.__fvAxeRun ? window.__fvAxeRun() : null")
                except Exception:  # page closed or navigating away
                    continue


def audited(browser: Any, test_name: str, artifacts: Path) -> Iterator[AuditedBrowser]:
    """Yield the audited browser; afterwards fail on any violation and log the figures."""
    if not AXE_JS.is_file():
        raise RuntimeError(f"axe-core is missing ({AXE_JS}): run `make install`")
    audit = AxeAudit()
    wrapped = AuditedBrowser(browser, audit)
    started = time.monotonic()
    yield wrapped
    wrapped.flush()
    artifacts.mkdir(exist_ok=True)
    with (artifacts / "axe-summary.jsonl").open("a", encoding="utf-8") as log:
        summary = {
            "test": test_name,
            "pages_audited": len(audit.pages),
            "audit_seconds": round(audit.seconds, 3),
            "test_seconds": round(time.monotonic() - started, 3),
            "violations": len(audit.violations),
        }
        log.write(json.dumps(summary, ensure_ascii=False) + "\n")
    assert not audit.violations, "WCAG 2.1 A/AA violations (axe-core):\n" + audit.report()
