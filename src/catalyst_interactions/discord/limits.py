"""Discord's documented limits and message flags: the one place the bot's code reads them.

Each value is a fact restated in docs/discord-facts.md (the section is named above each
group); when Discord changes one, change it there and here. The reply builders in
:mod:`.messages` are the only place the bot enforces the reply limits (``LimitError`` when a
reply is built); the framework checks command declarations against the command limits at
start-up; other modules only read a value to cut text to fit or to size an incoming field
(:mod:`.payloads`). The local Discord emulator keeps its own copy on
purpose (an independent reading of the same documents), so do not import this module there.
A flag or limit the bot does not use yet (IS_COMPONENTS_V2, the V2 component counts) is added
here, with its section, when a builder starts to use it.

Text limits are inclusive and counted after trimming leading and trailing whitespace
(§8); identifiers (custom_id, url, filename) are counted as sent.
"""

from __future__ import annotations

from typing import Final

# --- Message flags (§6) ------------------------------------------------------------------------

SUPPRESS_EMBEDS: Final = 1 << 2
"""The message shows no link previews; a response or an edit may set it."""
EPHEMERAL: Final = 1 << 6
"""Only the member who invoked the interaction sees the message; set only when it is created."""

# --- Message content and embeds (§8) -------------------------------------------------------------

CONTENT_MAX: Final = 2000
"""Characters of a message's ``content``."""
EMBEDS_MAX: Final = 10
"""Embeds in one message."""
EMBED_TITLE_MAX: Final = 256
"""Characters of an embed's title."""
EMBED_DESCRIPTION_MAX: Final = 4096
"""Characters of an embed's description."""
EMBED_FIELDS_MAX: Final = 25
"""Fields in one embed."""
EMBED_FIELD_NAME_MAX: Final = 256
"""Characters of a field's name (1 at least)."""
EMBED_FIELD_VALUE_MAX: Final = 1024
"""Characters of a field's value (1 at least)."""
EMBED_FOOTER_MAX: Final = 2048
"""Characters of an embed's footer text."""
EMBED_AUTHOR_MAX: Final = 256
"""Characters of an embed's author name."""
EMBED_TOTAL_MAX: Final = 6000
"""Characters of title, description, field names and values, footer and author, summed over
every embed of one message."""
EMBED_URL_MAX: Final = 2048
"""Characters of an embed's url, image url or thumbnail url."""
COLOR_MAX: Final = 0xFFFFFF
"""The largest embed colour (24-bit RGB)."""
ATTACHMENTS_MAX: Final = 10
"""Files attached to one message."""
ATTACHMENT_FILENAME_MAX: Final = 1024
"""Characters of an attachment's filename."""
ATTACHMENT_DESCRIPTION_MAX: Final = 1024
"""Characters of an attachment's description (alt text)."""
ALLOWED_MENTION_IDS_MAX: Final = 100
"""Ids in ``allowed_mentions.users`` and in ``allowed_mentions.roles``, each (§8)."""

# --- Components (§7) -----------------------------------------------------------------------------

CUSTOM_ID_MAX: Final = 100
"""Characters of a component's or modal's custom_id (1 at least), unique within a message."""
ACTION_ROWS_MAX: Final = 5
"""Top-level action rows in a message without IS_COMPONENTS_V2."""
ROW_BUTTONS_MAX: Final = 5
"""Buttons in one action row (a select fills a row alone)."""
BUTTON_LABEL_MAX: Final = 80
"""Characters of a button's label."""
BUTTON_URL_MAX: Final = 512
"""Characters of a link button's url."""
EMOJI_NAME_MAX: Final = 32
"""Characters of an emoji's name on a button or select option."""
SELECT_OPTIONS_MAX: Final = 25
"""Options in a string select (1 at least)."""
SELECT_OPTION_TEXT_MAX: Final = 100
"""Characters of a select option's label, value and description, each."""
SELECT_PLACEHOLDER_MAX: Final = 150
"""Characters of a select's placeholder."""
SELECT_VALUES_MAX: Final = 25
"""A select's ``max_values`` (``min_values`` is 0 to this), so also the values one click sends."""
TEXT_INPUT_LENGTH_MAX: Final = 4000
"""A text input's ``max_length`` and the characters of its ``value``."""
TEXT_INPUT_PLACEHOLDER_MAX: Final = 100
"""Characters of a text input's placeholder."""
LABEL_MAX: Final = 45
"""Characters of a modal Label component's label."""
MODAL_TITLE_MAX: Final = 45
"""Characters of a modal's title (1 at least)."""
MODAL_COMPONENTS_MAX: Final = 5
"""Top-level components in a modal (1 at least) (§3)."""

# --- Autocomplete and application commands (§3, §11) ------------------------------------------

CHOICES_MAX: Final = 25
"""Choices in an autocomplete result or on one command option."""
CHOICE_NAME_MAX: Final = 100
"""Characters of a choice's name (1 at least)."""
CHOICE_STRING_VALUE_MAX: Final = 100
"""Characters of a string choice's value."""
COMMAND_NAME_MAX: Final = 32
"""Characters of a command's or option's name (1 at least)."""
COMMAND_DESCRIPTION_MAX: Final = 100
"""Characters of a CHAT_INPUT command's or option's description (1 at least)."""
COMMAND_OPTIONS_MAX: Final = 25
"""Options at one level of a command."""
OPTION_STRING_LENGTH_MAX: Final = 6000
"""The largest ``max_length`` a STRING option may declare, so the longest value it receives."""
SAFE_INTEGER_MAX: Final = 2**53 - 1
"""The largest magnitude of an integer or number choice or option value."""
