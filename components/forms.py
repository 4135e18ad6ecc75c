"""Forms bound to the record they edit, so that a form always saves what the user sees.

Streamlit keeps a keyed widget's value when the record behind it changes, and a selectbox maps
its value back through the option *label*. Both made screens save the wrong record. The rules here:

- A form's widget keys carry the record's id and a generation number (`Bound.key`). Switching the
  record gives other keys, hence fresh widgets; `Bound.saved()` bumps the generation, so the form
  is empty (or shows the saved record) after a save.
- Records are chosen by id (`pick_record`): labels are made unique, the chosen id lives in session
  state under our own name and survives option lists that change (an issued notice moving to
  another place in the list stays the chosen one).
- A submit runs once per generation (`Bound.submit`): a double click makes one record.
- Messages belong to a form: the success of the last save shows once (`Bound.flash`), an error
  shows next to the submit button (`Bound.error_here`), and a new submit clears both.

Usage (a new form):

    form = forms.bound("mt_new")                       # or forms.bound("nt_edit", view["id"])
    form.flash()                                        # "会议纪要已保存：……" after the last save
    with st.form(form.key("form"), enter_to_submit=False):
        topic = st.text_input("会议议题", key=form.key("topic"))
        field_error("topic")
        form.error_here()
        if st.form_submit_button("保存纪要", key=form.key("submit")):
            saved = form.submit(meetings.create_meeting, data)
            if saved:
                form.saved(f"会议纪要已保存：{saved.topic}")   # new widgets, message, rerun
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Hashable

import streamlit as st

from components.context import plain, run_action

_GEN = "_form_gen"


class Bound:
    """One form bound to one record (`record_id` "new" for a form that creates one)."""

    def __init__(self, scope: str, record_id: Hashable = "new"):
        self.scope = scope
        self.record_id = record_id
        self.generation = st.session_state.setdefault(_GEN, {}).get((scope, record_id), 0)
        self.prefix = f"{scope}_{record_id}_g{self.generation}"

    def key(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    # -------------------------------------------------------------- life cycle
    def reset(self) -> None:
        """Fresh widgets for this record on the next run; forget the old generation's values."""
        gens = st.session_state.setdefault(_GEN, {})
        gens[(self.scope, self.record_id)] = self.generation + 1
        for k in [k for k in st.session_state if str(k).startswith(self.prefix + "_")]:
            del st.session_state[k]

    def saved(self, message: str, rerun: bool = True) -> None:
        """After a successful save: the message (shown once, by `flash`), fresh widgets, rerun."""
        st.session_state[f"_flash_{self.scope}"] = message
        st.session_state.pop(f"_error_{self.scope}", None)
        self.reset()
        if rerun:
            st.rerun()

    def once(self, call: Callable[[], Any]) -> Any:
        """Run `call` once per generation: a second click on the same form (a double click, or a
        click that interrupted the first run after it saved) saves nothing more and gets the first
        click's result. A refusal (None) may be tried again."""
        done_key = f"_submitted_{self.prefix}"
        if done_key in st.session_state:
            return st.session_state[done_key]
        result = call()
        if result is not None:
            st.session_state[done_key] = result  # before any st call: a rerun may interrupt at the next one
        return result

    def submit(self, fn: Callable, *args, rerun_on_error: bool = True, **kwargs) -> Any:
        """Call a service through run_action, once per generation (see `once`)."""
        if f"_submitted_{self.prefix}" not in st.session_state:
            st.session_state.pop(f"_flash_{self.scope}", None)
            st.session_state.pop(f"_error_{self.scope}", None)
        result = self.once(lambda: run_action(fn, *args, _quiet=True, **kwargs))
        if result is not None:
            return result
        # refused: the field errors beside their fields, the refusal next to the button
        st.session_state[f"_error_{self.scope}"] = st.session_state.get("_last_action_error", "")
        if rerun_on_error:
            st.rerun()
        return None

    # -------------------------------------------------------------- messages
    def flash(self) -> None:
        msg = st.session_state.pop(f"_flash_{self.scope}", None)
        if msg:
            st.success(plain(msg), icon=":material/check_circle:")  # names typed by users: never Markdown

    def error_here(self) -> None:
        """The refusal of the last submit, where the user is looking (next to the button)."""
        msg = st.session_state.get(f"_error_{self.scope}")
        if msg:
            st.error(f"未保存：{plain(msg)}", icon=":material/error:")

    def has_error(self) -> bool:
        return bool(st.session_state.get(f"_error_{self.scope}"))

    def clear_error(self) -> None:
        st.session_state.pop(f"_error_{self.scope}", None)


def bound(scope: str, record_id: Hashable = "new") -> Bound:
    return Bound(scope, record_id)


def unique_labels(labels: dict[Hashable, str]) -> dict[Hashable, str]:
    """Labels that identify their record: a label shared by several records gets its id appended."""
    seen = Counter(labels.values())
    return {i: (f"{text}（#{i}）" if seen[text] > 1 else text) for i, text in labels.items()}


def current(scope: str) -> Hashable | None:
    return st.session_state.get(f"{scope}_current")


def choose(scope: str, record_id: Hashable | None) -> None:
    """Make `record_id` the chosen record of the picker `scope` (e.g. after creating it)."""
    if record_id is None:
        st.session_state.pop(f"{scope}_current", None)
    else:
        st.session_state[f"{scope}_current"] = record_id
    st.session_state.pop(f"{scope}_pick", None)


def pick_record(label: str, labels: dict[Hashable, str], scope: str, *, keep: dict[Hashable, str] | None = None,
                container=st) -> Hashable | None:
    """A selectbox of records by id. The choice is remembered under `{scope}_current` and kept
    while the record exists, even when it leaves the listed options (`keep` gives its label then);
    otherwise the first listed record is chosen."""
    chosen = current(scope)
    options = dict(labels)
    if chosen is not None and chosen not in options and keep and chosen in keep:
        options = {chosen: keep[chosen], **options}
    if chosen not in options:
        chosen = next(iter(options), None)
    names = unique_labels(options)
    widget = f"{scope}_pick"
    st.session_state[widget] = chosen  # our choice, not a label the frontend kept from another list

    def _remember():  # runs before the rerun the user's pick causes
        st.session_state[f"{scope}_current"] = st.session_state.get(widget)

    picked = container.selectbox(label, list(names), format_func=lambda i: names.get(i, str(i)), key=widget,
                                 placeholder="请选择", on_change=_remember)
    if picked is None:
        st.session_state.pop(f"{scope}_current", None)
    else:
        st.session_state[f"{scope}_current"] = picked
    return picked
