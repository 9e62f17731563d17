-- PostGIS comparison, step 1: raw tables for the two CSVs (loaded next
-- with COPY ... FROM STDIN). Used by BenchmarkBakeVsPostGIS.
DROP TABLE IF EXISTS ab_raw, ballots_raw, ab, ballots;
CREATE UNLOGGED TABLE ab_raw (uprn text, address text, postcode text, location text, address_type text);
CREATE UNLOGGED TABLE ballots_raw (election_id text, geography_id text, geography_text text, source_table text);
