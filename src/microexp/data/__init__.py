"""Database adapters; each returns a :class:`~microexp.data.schema.SampleTable`."""
