"""An Input whose editing keys act in the order they were typed."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class InOrderInput(Input):
    """Textual runs a widget's key bindings (ctrl+u, ctrl+w, home, ...) only when the key has
    bubbled back up to the app, after the keys already queued behind it. Typed as one burst
    (a fast typist, a paste, tmux send-keys), "ctrl+u, then a revision" would insert the
    revision and then clear it. Here this input's own bindings run as the key arrives."""

    # When the key being handled was typed (Textual's clock): a dialog refuses an Enter
    # typed before it was on screen (see ConfirmScreen).
    key_time: float = 0.0

    async def _on_key(self, event: events.Key) -> None:
        self.key_time = event.time
        # Textual then calls Input's own `_on_key` (for printable keys) unless prevented.
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return
