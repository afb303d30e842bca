"""Why a run failed, grouped by cause, as the text the coder reads; the run's verdict (pure)."""
