-- The Trino functions that the Athena SQL in sql/ uses and PostgreSQL
-- lacks, with Trino's semantics. internal/trinopg installs them before it
-- runs a query; every function here is also listed in its allowlist.

-- fail(message): Trino's fail() aborts the query with message
-- (GENERIC_USER_ERROR). The SQLSTATE lets the Go side tell it apart from
-- PostgreSQL's own errors. VOLATILE, so the planner never folds it early.
CREATE OR REPLACE FUNCTION fail(message text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'TRFAL', MESSAGE = message;
END
$$;

-- to_utf8(s): the UTF-8 bytes of s (Trino varbinary; here bytea).
CREATE OR REPLACE FUNCTION to_utf8(s text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT convert_to(s, 'UTF8') $$;

-- crc32(b): CRC-32/IEEE of b as a bigint, as Trino's crc32 (java.util.zip.CRC32):
-- crc32(to_utf8('hello')) = 907060870. Table-driven, one step per byte; the
-- table is the reflected polynomial 0xEDB88320's.
CREATE OR REPLACE FUNCTION crc32(b bytea) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    crc bigint := 4294967295;
    t CONSTANT bigint[] := ARRAY[
        0, 1996959894, 3993919788, 2567524794, 124634137, 1886057615, 3915621685, 2657392035,
        249268274, 2044508324, 3772115230, 2547177864, 162941995, 2125561021, 3887607047, 2428444049,
        498536548, 1789927666, 4089016648, 2227061214, 450548861, 1843258603, 4107580753, 2211677639,
        325883990, 1684777152, 4251122042, 2321926636, 335633487, 1661365465, 4195302755, 2366115317,
        997073096, 1281953886, 3579855332, 2724688242, 1006888145, 1258607687, 3524101629, 2768942443,
        901097722, 1119000684, 3686517206, 2898065728, 853044451, 1172266101, 3705015759, 2882616665,
        651767980, 1373503546, 3369554304, 3218104598, 565507253, 1454621731, 3485111705, 3099436303,
        671266974, 1594198024, 3322730930, 2970347812, 795835527, 1483230225, 3244367275, 3060149565,
        1994146192, 31158534, 2563907772, 4023717930, 1907459465, 112637215, 2680153253, 3904427059,
        2013776290, 251722036, 2517215374, 3775830040, 2137656763, 141376813, 2439277719, 3865271297,
        1802195444, 476864866, 2238001368, 4066508878, 1812370925, 453092731, 2181625025, 4111451223,
        1706088902, 314042704, 2344532202, 4240017532, 1658658271, 366619977, 2362670323, 4224994405,
        1303535960, 984961486, 2747007092, 3569037538, 1256170817, 1037604311, 2765210733, 3554079995,
        1131014506, 879679996, 2909243462, 3663771856, 1141124467, 855842277, 2852801631, 3708648649,
        1342533948, 654459306, 3188396048, 3373015174, 1466479909, 544179635, 3110523913, 3462522015,
        1591671054, 702138776, 2966460450, 3352799412, 1504918807, 783551873, 3082640443, 3233442989,
        3988292384, 2596254646, 62317068, 1957810842, 3939845945, 2647816111, 81470997, 1943803523,
        3814918930, 2489596804, 225274430, 2053790376, 3826175755, 2466906013, 167816743, 2097651377,
        4027552580, 2265490386, 503444072, 1762050814, 4150417245, 2154129355, 426522225, 1852507879,
        4275313526, 2312317920, 282753626, 1742555852, 4189708143, 2394877945, 397917763, 1622183637,
        3604390888, 2714866558, 953729732, 1340076626, 3518719985, 2797360999, 1068828381, 1219638859,
        3624741850, 2936675148, 906185462, 1090812512, 3747672003, 2825379669, 829329135, 1181335161,
        3412177804, 3160834842, 628085408, 1382605366, 3423369109, 3138078467, 570562233, 1426400815,
        3317316542, 2998733608, 733239954, 1555261956, 3268935591, 3050360625, 752459403, 1541320221,
        2607071920, 3965973030, 1969922972, 40735498, 2617837225, 3943577151, 1913087877, 83908371,
        2512341634, 3803740692, 2075208622, 213261112, 2463272603, 3855990285, 2094854071, 198958881,
        2262029012, 4057260610, 1759359992, 534414190, 2176718541, 4139329115, 1873836001, 414664567,
        2282248934, 4279200368, 1711684554, 285281116, 2405801727, 4167216745, 1634467795, 376229701,
        2685067896, 3608007406, 1308918612, 956543938, 2808555105, 3495958263, 1231636301, 1047427035,
        2932959818, 3654703836, 1088359270, 936918000, 2847714899, 3736837829, 1202900863, 817233897,
        3183342108, 3401237130, 1404277552, 615818150, 3134207493, 3453421203, 1423857449, 601450431,
        3009837614, 3294710456, 1567103746, 711928724, 3020668471, 3272380065, 1510334235, 755167117
    ]::bigint[];
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        crc := t[((crc # get_byte(b, i)) & 255) + 1] # (crc >> 8);
    END LOOP;
    RETURN crc # 4294967295;
END
$$;

-- regexp_like(s, pattern): true when pattern matches anywhere in s (Trino
-- searches, it does not anchor). The templates' patterns use only syntax
-- that Java and PostgreSQL regular expressions read alike.
CREATE OR REPLACE FUNCTION regexp_like(s text, pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT s ~ pattern $$;

-- regexp_extract(s, pattern, group): the group of the first match, NULL
-- when nothing matches.
CREATE OR REPLACE FUNCTION regexp_extract(s text, pattern text, grp bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT (regexp_match(s, pattern))[grp] $$;

-- array_sort(a): a sorted ascending, NULLs last. Strings compare by code
-- point, as in Trino: trinopg refuses a database whose collation is not C.
CREATE OR REPLACE FUNCTION array_sort(a anyarray) RETURNS anyarray
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(x ORDER BY x NULLS LAST), a[1:0]) FROM unnest(a) AS x
$$;

-- array_join(a, sep): the elements joined with sep, NULLs skipped.
CREATE OR REPLACE FUNCTION array_join(a anyarray, sep text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT array_to_string(a, sep) $$;

-- slice(a, start, length): up to length elements from start (1-based; a
-- negative start counts from the end).
CREATE OR REPLACE FUNCTION slice(a anyarray, start bigint, len bigint) RETURNS anyarray
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    n bigint := coalesce(cardinality(a), 0);
    s bigint := CASE WHEN start > 0 THEN start ELSE n + start + 1 END;
BEGIN
    IF start = 0 THEN
        RAISE EXCEPTION 'SQL array indices start at 1';
    END IF;
    IF len < 0 THEN
        RAISE EXCEPTION 'length must be greater than or equal to 0';
    END IF;
    IF s < 1 OR s > n THEN
        RETURN a[1:0];
    END IF;
    RETURN a[s : least(s + len - 1, n)];
END
$$;

-- ST_GeometryFromText(wkt): the geometry, with SRID 0 like Athena's and
-- like ST_Point's.
CREATE OR REPLACE FUNCTION ST_GeometryFromText(wkt text) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT ST_GeomFromText(wkt) $$;

-- json_format(j): the JSON text of j, compact, as Trino's json_format.
-- PostgreSQL's to_json (what trinopg makes of CAST(x AS JSON)) escapes a
-- string as Trino (Jackson) does: \" \\ \b \f \n \r \t, other control
-- characters as \u00XX (hex digits in lower case here; Jackson may write
-- upper case: none of the templates' inputs holds such a character), and
-- everything else (non-ASCII included) as is.
CREATE OR REPLACE FUNCTION json_format(j json) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT j::text $$;
