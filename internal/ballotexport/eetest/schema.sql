-- The subset of Every Election's schema that the ballots and boundary
-- reviews exports read, with the column types Django/GeoDjango give EE's
-- models (DemocracyClub/EveryElection: elections/models.py,
-- organisations/models/{organisations,divisions,boundary_review}.py).
CREATE TABLE organisations_organisation (
    id                  serial PRIMARY KEY,
    official_identifier varchar(255) NOT NULL,
    organisation_type   varchar(255) NOT NULL,
    official_name       varchar(255) NOT NULL,
    common_name         varchar(255) NOT NULL,
    slug                varchar(100) NOT NULL,
    start_date          date NOT NULL,
    end_date            date NULL
);

CREATE TABLE organisations_organisationgeography (
    id              serial PRIMARY KEY,
    organisation_id integer NOT NULL REFERENCES organisations_organisation (id),
    gss             varchar(20) NOT NULL DEFAULT '',
    start_date      date NULL,
    end_date        date NULL,
    geography       geometry(MultiPolygon, 4326) NULL
);

CREATE TABLE organisations_organisationgeographysubdivided (
    id                        serial PRIMARY KEY,
    geography                 geometry(Polygon, 4326) NOT NULL,
    organisation_geography_id integer NOT NULL REFERENCES organisations_organisationgeography (id)
);
CREATE INDEX ON organisations_organisationgeographysubdivided (organisation_geography_id);

CREATE TABLE organisations_organisationdivisionset (
    id               serial PRIMARY KEY,
    organisation_id  integer NOT NULL REFERENCES organisations_organisation (id),
    start_date       date NOT NULL,
    end_date         date NULL,
    legislation_name varchar(500) NOT NULL DEFAULT '',
    pmtiles_md5_hash varchar(32) NULL
);

CREATE TABLE organisations_organisationdivision (
    id                  serial PRIMARY KEY,
    divisionset_id      integer NOT NULL REFERENCES organisations_organisationdivisionset (id),
    name                varchar(255) NOT NULL,
    official_identifier varchar(255) NOT NULL,
    slug                varchar(100) NOT NULL,
    division_type       varchar(255) NOT NULL
);

-- division_id is a one-to-one in EE; it is nullable here only so that the
-- ballots fixtures and benchmark can add geographies without divisions.
CREATE TABLE organisations_divisiongeography (
    id          serial PRIMARY KEY,
    division_id integer NULL UNIQUE REFERENCES organisations_organisationdivision (id),
    geography   geometry(MultiPolygon, 4326) NOT NULL
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

CREATE TABLE organisations_organisationboundaryreview (
    id                serial PRIMARY KEY,
    organisation_id   integer NOT NULL REFERENCES organisations_organisation (id),
    divisionset_id    integer NULL UNIQUE REFERENCES organisations_organisationdivisionset (id),
    slug              varchar(255) NOT NULL,
    status            varchar(255) NOT NULL,
    public_visibility varchar(255) NOT NULL DEFAULT 'HIDDEN',
    latest_event      varchar(255) NOT NULL DEFAULT '',
    consultation_url  varchar(200) NOT NULL DEFAULT '',
    legislation_title varchar(255) NOT NULL DEFAULT '',
    legislation_url   varchar(200) NOT NULL DEFAULT '',
    effective_date    date NULL,
    created           timestamptz NOT NULL DEFAULT now(),
    modified          timestamptz NOT NULL DEFAULT now()
);
