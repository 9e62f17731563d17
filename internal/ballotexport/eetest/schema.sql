-- The subset of Every Election's schema that the ballots export reads,
-- with the column types Django/GeoDjango give EE's models
-- (DemocracyClub/EveryElection: elections/models.py,
-- organisations/models/{organisations,divisions}.py).
CREATE TABLE organisations_organisationgeography (
    id        serial PRIMARY KEY,
    geography geometry(MultiPolygon, 4326) NULL
);

CREATE TABLE organisations_organisationgeographysubdivided (
    id                        serial PRIMARY KEY,
    geography                 geometry(Polygon, 4326) NOT NULL,
    organisation_geography_id integer NOT NULL REFERENCES organisations_organisationgeography (id)
);
CREATE INDEX ON organisations_organisationgeographysubdivided (organisation_geography_id);

CREATE TABLE organisations_divisiongeography (
    id        serial PRIMARY KEY,
    geography geometry(MultiPolygon, 4326) NOT NULL
);

CREATE TABLE organisations_divisiongeographysubdivided (
    id                    serial PRIMARY KEY,
    geography             geometry(Polygon, 4326) NOT NULL,
    division_geography_id integer NOT NULL REFERENCES organisations_divisiongeography (id)
);
CREATE INDEX ON organisations_divisiongeographysubdivided (division_geography_id);

CREATE TABLE elections_election (
    id                        serial PRIMARY KEY,
    election_id               varchar(250) NULL UNIQUE,
    poll_open_date            date NULL,
    group_type                varchar(100) NULL,
    current                   boolean NULL,
    current_status            varchar(32) NOT NULL DEFAULT 'Suggested',
    cancelled                 boolean NOT NULL DEFAULT false,
    division_geography_id     integer NULL REFERENCES organisations_divisiongeography (id),
    organisation_geography_id integer NULL REFERENCES organisations_organisationgeography (id)
);
