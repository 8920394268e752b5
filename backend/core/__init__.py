"""Pure logic over what was read: no AWS calls, no clocks of their own, no UI. Everything here
takes values and returns values, so it is tested without a network."""
