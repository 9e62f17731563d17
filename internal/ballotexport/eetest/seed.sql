-- Fixture for "today" = 2026-05-01. For the ballots export, with a 30-day
-- look-back the window starts on 2026-04-01. The boundary reviews (at the
-- end) are in every state the boundary-reviews export selects on.

INSERT INTO organisations_organisation
    (id, official_identifier, organisation_type, official_name, common_name, slug, start_date) VALUES
    (1, 'ADU', 'local-authority', 'Adur District Council', 'Adur', 'adur', '1974-04-01'),
    (2, 'GLA', 'gla', 'Greater London Authority', 'Greater London Authority', 'gla', '2000-05-04'),
    (3, 'WOT', 'local-authority', 'Worthing Borough Council', 'Worthing', 'worthing', '1974-04-01');

-- Organisation geographies (EE stores MultiPolygons) and their pieces,
-- subdivided with EE's own POPULATE_SQL: ids 1 (Adur), 2 and 3 (London's
-- two parts), then 4 (London's geography that ended in 2000) and 5
-- (Worthing).
INSERT INTO organisations_organisationgeography (id, organisation_id, gss, start_date, end_date, geography) VALUES
    (1, 1, 'E07000223', '1974-04-01', NULL, ST_GeomFromText('MULTIPOLYGON(((-0.3 50.8,-0.2 50.8,-0.2 50.9,-0.3 50.9,-0.3 50.8)))', 4326)),
    (2, 2, 'E12000007', '2000-05-04', NULL, ST_GeomFromText('MULTIPOLYGON(((-0.5 51.3,-0.3 51.3,-0.3 51.5,-0.5 51.5,-0.5 51.3)),((-0.2 51.4,0.1 51.4,0.1 51.6,-0.2 51.6,-0.2 51.4)))', 4326)),
    (3, 2, 'E12999999', '1999-01-01', '2000-05-03', ST_GeomFromText('MULTIPOLYGON(((-0.6 51.2,0.2 51.2,0.2 51.7,-0.6 51.7,-0.6 51.2)))', 4326)),
    (4, 3, 'E07000229', '1974-04-01', NULL, ST_GeomFromText('MULTIPOLYGON(((-0.42 50.8,-0.34 50.8,-0.34 50.85,-0.42 50.85,-0.42 50.8)))', 4326));
INSERT INTO organisations_organisationgeographysubdivided (geography, organisation_geography_id)
    SELECT st_subdivide(geography) AS geography, id AS organisation_geography_id
    FROM (SELECT * FROM organisations_organisationgeography ORDER BY id) og;

-- Division sets with their pmtiles hashes (NULL: not generated yet).
INSERT INTO organisations_organisationdivisionset (id, organisation_id, start_date, end_date, pmtiles_md5_hash) VALUES
    (9, 1, '2004-06-10', '2019-05-01', '99999999999999999999999999999999'),
    (10, 1, '2019-05-02', '2027-05-05', '0a1b2c3d4e5f60718293a4b5c6d7e8f9'),
    (11, 1, '2027-05-06', NULL, NULL),
    (30, 3, '2004-06-10', '2026-04-30', '30303030303030303030303030303030'),
    (31, 3, '2026-05-01', NULL, 'f31f31f31f31f31f31f31f31f31f31f3'),
    (32, 3, '2028-05-04', NULL, 'e32e32e32e32e32e32e32e32e32e32e3');

INSERT INTO organisations_organisationdivision (id, divisionset_id, name, official_identifier, slug, division_type) VALUES
    (90, 9, 'Old Shoreham', 'E05000001', 'old-shoreham', 'DIW'),
    (1, 10, 'Buckingham', 'E05007562', 'buckingham', 'DIW'),
    (2, 10, 'Cokeham', 'E05007563', 'cokeham', 'DIW'),
    (12, 11, 'Cokeham and Marsh', 'E05015002', 'cokeham-and-marsh', 'DIW'),
    (11, 11, 'Buckingham', 'E05015001', 'buckingham', 'DIW'),
    (30, 30, 'Central', 'E05007700', 'central', 'DIW'),
    (32, 31, 'Marine', 'E05016002', 'marine', 'DIW'),
    (31, 31, 'Central', 'E05016001', 'central', 'DIW'),
    (34, 32, 'Heene', 'E05017002', 'heene', 'DIW'),
    (33, 32, 'Central', 'E05017001', 'central', 'DIW'),
    -- a division whose boundary EE has not loaded yet
    (35, 32, 'Selden', 'E05017003', 'selden', 'DIW');

-- Division geographies. Buckingham's pieces are inserted as three strips,
-- as ST_Subdivide leaves a large ward; Cokeham is a polygon with a hole.
INSERT INTO organisations_divisiongeography (id, division_id, geography) VALUES
    (1, 1, ST_GeomFromText('MULTIPOLYGON(((-0.3 50.83,-0.27 50.83,-0.27 50.86,-0.3 50.86,-0.3 50.83)))', 4326)),
    (2, 2, ST_GeomFromText('MULTIPOLYGON(((-0.27 50.83,-0.24 50.83,-0.24 50.86,-0.27 50.86,-0.27 50.83),(-0.26 50.84,-0.25 50.84,-0.25 50.85,-0.26 50.85,-0.26 50.84)))', 4326));
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

-- Boundary reviews. The other division geographies, each with one piece
-- except Worthing's Marine (two, inserted out of order) and Heene (a
-- self-intersecting bow tie and a collapsed sliver, as real subdivided data
-- has).
INSERT INTO organisations_divisiongeography (id, division_id, geography) VALUES
    (90, 90, ST_GeomFromText('MULTIPOLYGON(((-0.3 50.83,-0.24 50.83,-0.24 50.86,-0.3 50.86,-0.3 50.83)))', 4326)),
    (11, 11, ST_GeomFromText('MULTIPOLYGON(((-0.3 50.83,-0.26 50.83,-0.26 50.86,-0.3 50.86,-0.3 50.83)))', 4326)),
    (12, 12, ST_GeomFromText('MULTIPOLYGON(((-0.26 50.83,-0.24 50.83,-0.24 50.86,-0.26 50.86,-0.26 50.83)))', 4326)),
    (30, 30, ST_GeomFromText('MULTIPOLYGON(((-0.4 50.81,-0.36 50.81,-0.36 50.84,-0.4 50.84,-0.4 50.81)))', 4326)),
    (31, 31, ST_GeomFromText('MULTIPOLYGON(((-0.4 50.81,-0.38 50.81,-0.38 50.84,-0.4 50.84,-0.4 50.81)))', 4326)),
    (32, 32, ST_GeomFromText('MULTIPOLYGON(((-0.38 50.81,-0.36 50.81,-0.36 50.84,-0.38 50.84,-0.38 50.81)))', 4326)),
    (33, 33, ST_GeomFromText('MULTIPOLYGON(((-0.4 50.81,-0.39 50.81,-0.39 50.84,-0.4 50.84,-0.4 50.81)))', 4326)),
    (34, 34, ST_GeomFromText('MULTIPOLYGON(((-0.39 50.81,-0.36 50.81,-0.36 50.84,-0.39 50.84,-0.39 50.81)))', 4326));
INSERT INTO organisations_divisiongeographysubdivided (id, geography, division_geography_id) VALUES
    (901, ST_GeomFromText('POLYGON((-0.3 50.83,-0.24 50.83,-0.24 50.86,-0.3 50.86,-0.3 50.83))', 4326), 90),
    (111, ST_GeomFromText('POLYGON((-0.3 50.83,-0.26 50.83,-0.26 50.86,-0.3 50.86,-0.3 50.83))', 4326), 11),
    (112, ST_GeomFromText('POLYGON((-0.26 50.83,-0.24 50.83,-0.24 50.86,-0.26 50.86,-0.26 50.83))', 4326), 12),
    (301, ST_GeomFromText('POLYGON((-0.4 50.81,-0.36 50.81,-0.36 50.84,-0.4 50.84,-0.4 50.81))', 4326), 30),
    (311, ST_GeomFromText('POLYGON((-0.4 50.81,-0.38 50.81,-0.38 50.84,-0.4 50.84,-0.4 50.81))', 4326), 31),
    (322, ST_GeomFromText('POLYGON((-0.38 50.825,-0.36 50.825,-0.36 50.84,-0.38 50.84,-0.38 50.825))', 4326), 32),
    (321, ST_GeomFromText('POLYGON((-0.38 50.81,-0.36 50.81,-0.36 50.825,-0.38 50.825,-0.38 50.81))', 4326), 32),
    (331, ST_GeomFromText('POLYGON((-0.4 50.81,-0.39 50.81,-0.39 50.84,-0.4 50.84,-0.4 50.81))', 4326), 33),
    (341, ST_GeomFromText('POLYGON((-0.39 50.81,-0.36 50.84,-0.36 50.81,-0.39 50.84,-0.39 50.81))', 4326), 34),
    (342, ST_GeomFromText('POLYGON((-0.39 50.81,-0.38 50.81,-0.39 50.81,-0.39 50.81))', 4326), 34);

-- One review in each state, inserted out of id order. With today =
-- 2026-05-01 the export selects 1, 2, 3 and 5 (only 1, 2 and 5 when it
-- keeps public_visibility = 'MAP' alone).
INSERT INTO organisations_organisationboundaryreview
    (id, organisation_id, divisionset_id, slug, status, public_visibility, latest_event,
     consultation_url, legislation_title, legislation_url, effective_date) VALUES
    -- included: COMPLETED, takes effect after today; old set 10, new set 11 (no pmtiles yet)
    (1, 1, 11, 'adur-2027', 'COMPLETED', 'MAP', 'Order made',
     'https://www.lgbce.org.uk/all-reviews/adur', 'The Adur (Electoral Changes) Order 2026',
     'https://www.legislation.gov.uk/uksi/2026/1/contents/made', '2027-05-06'),
    -- included: CURRENT without a new set -> organisation rows (London's geography in force today)
    (2, 2, NULL, 'gla-2026', 'CURRENT', 'MAP', 'Draft recommendations, consultation open',
     'https://www.lgbce.org.uk/all-reviews/greater-london', '', '', NULL),
    -- included: COMPLETED, takes effect today; set 30 ended yesterday, so no old rows
    (5, 3, 31, 'worthing-2026', 'COMPLETED', 'MAP', 'Order made',
     'https://www.lgbce.org.uk/all-reviews/worthing', 'The Worthing (Electoral Changes) Order 2025',
     'https://www.legislation.gov.uk/uksi/2025/2/contents/made', '2026-05-01'),
    -- included unless only MAP reviews are exported: CURRENT and HIDDEN, with a draft set 32
    (3, 3, 32, 'worthing-2028', 'CURRENT', 'HIDDEN', 'Final recommendations published',
     'https://www.lgbce.org.uk/all-reviews/worthing-2028', '', '', NULL),
    -- excluded: COMPLETED and in force since 2019
    (4, 1, 10, 'adur-2019', 'COMPLETED', 'MAP', 'Order made',
     'https://www.lgbce.org.uk/all-reviews/adur-2019', 'The Adur (Electoral Changes) Order 2018', '', '2019-05-02'),
    -- excluded: COMPLETED on 2026-04-15 (included by a look-back of 16 days or more)
    (6, 2, NULL, 'gla-2025', 'COMPLETED', 'HIDDEN', 'Order made', '', 'The London (Electoral Changes) Order 2025', '', '2026-04-15'),
    -- excluded: COMPLETED without an effective date
    (7, 1, NULL, 'adur-abandoned', 'COMPLETED', 'MAP', 'Review stopped', '', '', '', NULL);
