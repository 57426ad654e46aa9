"""Every HTTP call to the model API made inside an ``llm`` test passes through here."""
