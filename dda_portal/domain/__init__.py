"""Pure decisions of the portal: no AWS, no SQL, no UI."""
