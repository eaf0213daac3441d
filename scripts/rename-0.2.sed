# tulip 0.1 -> 0.2 API renames (see CHANGELOG.md, "0.2.0 - breaking changes").
# Apply to your own code with:
#   sed -i -E -f scripts/rename-0.2.sed $(git ls-files '*.c' '*.h' '*.md' '*.py' '*.sh')
# Every rule is anchored on word boundaries, so running it twice is harmless.

# One verb family for the primitives: acquire / try_acquire / release.
s/\btulip_lock_lock\b/tulip_lock_acquire/g
s/\btulip_lock_try_lock\b/tulip_lock_try_acquire/g
s/\btulip_lock_unlock\b/tulip_lock_release/g

# Predicates are named is_* and return bool.
s/\btulip_lock_locked\b/tulip_lock_is_locked/g
s/\btulip_task_cancelled\b/tulip_task_is_cancelled/g
s/\btulip_task_done\b/tulip_task_is_done/g
s/\btulip_future_done\b/tulip_future_is_done/g
s/\btulip_scope_triggered\b/tulip_scope_is_triggered/g
s/\btulip_debug_enabled\b/tulip_debug_is_enabled/g

# One size-accessor name: _size (and _capacity, unabbreviated).
s/\btulip_chan_len\b/tulip_chan_size/g
s/\btulip_chan_cap\b/tulip_chan_capacity/g

# "stream" means the buffered byte stream (tulip_stream) only; the HTTP
# client's incrementally read response body is a reader.
s/\btulip_http_stream\b/tulip_http_reader/g
s/\btulip_http_stream_(read|reply|close)\b/tulip_http_reader_\1/g
