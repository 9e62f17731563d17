-- Fixture for "today" = 2026-05-01 with a 30-day look-back, so the window
-- starts on 2026-04-01.

-- Organisation geographies (EE stores MultiPolygons) and their pieces,
-- subdivided with EE's own POPULATE_SQL: ids 1 (Adur), 2 and 3 (London's
-- two parts).
INSERT INTO organisations_organisationgeography (id, geography) VALUES
    (1, ST_GeomFromText('MULTIPOLYGON(((-0.3 50.8,-0.2 50.8,-0.2 50.9,-0.3 50.9,-0.3 50.8)))', 4326)),
    (2, ST_GeomFromText('MULTIPOLYGON(((-0.5 51.3,-0.3 51.3,-0.3 51.5,-0.5 51.5,-0.5 51.3)),((-0.2 51.4,0.1 51.4,0.1 51.6,-0.2 51.6,-0.2 51.4)))', 4326));
INSERT INTO organisations_organisationgeographysubdivided (geography, organisation_geography_id)
    SELECT st_subdivide(geography) AS geography, id AS organisation_geography_id
    FROM (SELECT * FROM organisations_organisationgeography ORDER BY id) og;

-- Division geographies. Buckingham's pieces are inserted as three strips,
-- as ST_Subdivide leaves a large ward; Cokeham is a polygon with a hole.
INSERT INTO organisations_divisiongeography (id, geography) VALUES
    (1, ST_GeomFromText('MULTIPOLYGON(((-0.3 50.83,-0.27 50.83,-0.27 50.86,-0.3 50.86,-0.3 50.83)))', 4326)),
    (2, ST_GeomFromText('MULTIPOLYGON(((-0.27 50.83,-0.24 50.83,-0.24 50.86,-0.27 50.86,-0.27 50.83),(-0.26 50.84,-0.25 50.84,-0.25 50.85,-0.26 50.85,-0.26 50.84)))', 4326));
INSERT INTO organisations_divisiongeographysubdivided (id, geography, division_geography_id) VALUES
    (101, ST_GeomFromText('POLYGON((-0.3 50.83,-0.29 50.83,-0.29 50.86,-0.3 50.86,-0.3 50.83))', 4326), 1),
    (103, ST_GeomFromText('POLYGON((-0.28 50.83,-0.27 50.83,-0.27 50.86,-0.28 50.86,-0.28 50.83))', 4326), 1),
    (102, ST_GeomFromText('POLYGON((-0.29 50.83,-0.28 50.83,-0.28 50.86,-0.29 50.86,-0.29 50.83))', 4326), 1),
    (104, ST_GeomFromText('POLYGON((-0.27 50.83,-0.24 50.83,-0.24 50.86,-0.27 50.86,-0.27 50.83),(-0.26 50.84,-0.25 50.84,-0.25 50.85,-0.26 50.85,-0.26 50.84))', 4326), 2);

INSERT INTO elections_election
    (election_id, poll_open_date, group_type, current, current_status, division_geography_id, organisation_geography_id)
VALUES
    -- included: division geography in three pieces
    ('local.adur.buckingham.2026-05-07', '2026-05-07', NULL, NULL, 'Approved', 1, NULL),
    -- included: has both geographies; the division (with a hole) wins
    ('local.adur.cokeham.2026-05-07', '2026-05-07', NULL, NULL, 'Approved', 2, 1),
    -- included: first day of the window, no geography -> one None row
    ('local.adur.marsh.2026-04-01', '2026-04-01', NULL, NULL, 'Approved', NULL, NULL),
    -- included: organisation geography (a two-part MultiPolygon)
    ('mayor.london.2026-05-07', '2026-05-07', NULL, true, 'Approved', NULL, 2),
    -- included: older than the window but flagged current
    ('ref.uk.2026-01-15', '2026-01-15', NULL, true, 'Approved', NULL, 1),
    -- excluded: a group, not a ballot
    ('local.adur.2026-05-07', '2026-05-07', 'organisation', NULL, 'Approved', NULL, 1),
    ('local.2026-05-07', '2026-05-07', 'election', NULL, 'Approved', NULL, NULL),
    -- excluded: not approved
    ('local.adur.eastbrook.2026-05-07', '2026-05-07', NULL, NULL, 'Suggested', 1, NULL),
    ('local.adur.hillside.2026-05-07', '2026-05-07', NULL, NULL, 'Rejected', 1, NULL),
    -- excluded: explicitly not current, though inside the window
    ('local.adur.manor.2026-05-07', '2026-05-07', NULL, false, 'Approved', 1, NULL),
    -- excluded: one day before the window, not flagged current
    ('local.adur.peverel.2026-03-31', '2026-03-31', NULL, NULL, 'Approved', 1, NULL),
    -- excluded: no election_id (a draft)
    (NULL, '2026-05-07', NULL, NULL, 'Approved', 1, NULL);
