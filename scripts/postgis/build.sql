-- PostGIS comparison, step 2 (after COPY): geometries and a GiST index.
CREATE UNLOGGED TABLE ballots AS
  SELECT election_id, ST_GeomFromText(geography_text, 4326) AS geom
  FROM ballots_raw WHERE source_table <> 'None';
CREATE INDEX ballots_geom ON ballots USING gist (geom);
CREATE UNLOGGED TABLE ab AS
  SELECT uprn, address, postcode, split_part(postcode, ' ', 1) AS outcode,
         ST_GeomFromEWKT(location) AS geom
  FROM ab_raw;
ANALYZE ballots;
ANALYZE ab;
