"""Quality: the blocking Great Expectations gates and the audit log publication trusts."""
