-- roles.permissions_version changes in the same transaction as any change to the role's permission
-- set, whatever statement makes it (the service, the seed, a cascade, hand-written SQL). Each API
-- process caches a role's permission keys per (role, version) and reads the version with the user
-- row on every request, so an edit applies to the very next request on every process.
CREATE FUNCTION bump_role_permissions_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE roles SET permissions_version = permissions_version + 1 WHERE id = OLD.role_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.role_id IS DISTINCT FROM OLD.role_id) THEN
    UPDATE roles SET permissions_version = permissions_version + 1 WHERE id = NEW.role_id;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER role_permissions_bump_version AFTER INSERT OR UPDATE OR DELETE ON role_permissions
  FOR EACH ROW EXECUTE FUNCTION bump_role_permissions_version();
--> statement-breakpoint
-- A permission's key is what the cache holds: renaming one changes every role that grants it.
CREATE FUNCTION bump_permission_roles_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE roles SET permissions_version = permissions_version + 1
   WHERE id IN (SELECT role_id FROM role_permissions WHERE permission_id = NEW.id);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER permissions_bump_roles_version AFTER UPDATE OF key ON permissions
  FOR EACH ROW WHEN (OLD.key IS DISTINCT FROM NEW.key) EXECUTE FUNCTION bump_permission_roles_version();
