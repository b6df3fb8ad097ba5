-- Trigram indexes back the case-insensitive customer search.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
