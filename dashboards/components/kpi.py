"""KPI cards: a label, a formatted value that is never a false zero, and the change against the previous period."""
from __future__ import annotations

from dash import Output, html

from dashboards.format import format_change, format_points, format_value, is_missing, no_data_title
from dashboards.i18n import description, label, t
from kpis.change import relative_change


def kpi_card(kpi, lang: str, id_prefix: str) -> html.Div:
    """Render an empty card for one KPI; callbacks fill `<prefix>-<key>` (value) and `<prefix>-<key>-change`."""
    return html.Div(className="kpi-card", id=f"{id_prefix}-{kpi.key}-card", title=description(kpi, lang), children=[
        html.Div(label(kpi, lang), className="kpi-label", id=f"{id_prefix}-{kpi.key}-label"),
        html.Div("…", className="kpi-value", id=f"{id_prefix}-{kpi.key}"),
        html.Div("", className="kpi-change", id=f"{id_prefix}-{kpi.key}-change"),
    ])


def value_title(value, lang: str) -> str:
    """The tooltip of a value: explains the dash when there is no data."""
    return no_data_title(lang) if is_missing(value) else ""


def change_text(kpi, current, previous, lang: str) -> str:
    """Describe the change against the previous period: points for rates, relative change for counts."""
    if is_missing(current) or is_missing(previous):
        return ""
    if kpi.unit == "percent":
        text = format_points(current - previous, lang)
    else:
        text = format_change(relative_change(current, previous), lang)
        if text == format_change(None, lang):
            return ""
    return f"{text} {t('vs_previous', lang)}"


def change_class(kpi, current, previous) -> str:
    """CSS class saying whether the change is good, bad or flat for this KPI."""
    if is_missing(current) or is_missing(previous) or current == previous:
        return "kpi-change"
    better = (current > previous) == kpi.higher_is_better
    return "kpi-change kpi-change-good" if better else "kpi-change kpi-change-bad"


def kpi_card_outputs(kpis, id_prefix: str) -> list[Output]:
    """The Outputs a strip of kpi_card(kpi, lang, id_prefix) cards is filled through, in kpi_outputs' order."""
    outputs = []
    for kpi in kpis:
        base = f"{id_prefix}-{kpi.key}"
        outputs += [Output(base, "children"), Output(base, "title"), Output(f"{base}-change", "children"),
                    Output(f"{base}-change", "className")]
    return outputs


def kpi_outputs(kpi, current, previous, lang: str) -> tuple[str, str, str, str]:
    """Value text, value tooltip, change text and change class for one card."""
    return (format_value(current, kpi.unit, lang), value_title(current, lang),
            change_text(kpi, current, previous, lang), change_class(kpi, current, previous))
