"""axe-core (vendored, see VERSION) run inside a Playwright page: the dashboard's accessibility check."""

from __future__ import annotations

from pathlib import Path

SCRIPT = Path(__file__).with_name("axe.min.js")
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def violations(page) -> list[dict]:
    """axe's violations on `page` as it is now (WCAG 2.1 A/AA and best practice): id, impact, where."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Indirect eval runs it in the page's global scope; the dashboard's CSP allows eval, not inline scripts.
        page.evaluate("(src) => { (0, eval)(src); }", SCRIPT.read_text(encoding="utf-8"))
    return page.evaluate(
        """async (tags) => {
        const r = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            where: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary) }));
    }""",
        RULES,
    )
