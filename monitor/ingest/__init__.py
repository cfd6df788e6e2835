"""From a platform's payload to a stored post: records, normalisation, pseudonyms, the pipeline and the live stream."""
