-- Turns the fixture schema (zulip-schema.sql, a current Zulip's layout) into Zulip 11.0's, after
-- the generator has loaded it: the tests run the exporter on both layouts.
-- Zulip 11.0 is at zerver 0751: zerver_stream still has is_in_zephyr_realm (populated from
-- Realm.is_zephyr_mirror_realm) and has no default_code_block_language yet.
ALTER TABLE zerver_stream ADD COLUMN is_in_zephyr_realm boolean NOT NULL DEFAULT false;
ALTER TABLE zerver_stream ALTER COLUMN is_in_zephyr_realm DROP DEFAULT;
ALTER TABLE zerver_stream DROP COLUMN default_code_block_language;
DELETE FROM django_migrations WHERE app = 'zerver' AND name > '0751_~';
