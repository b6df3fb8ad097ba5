-- Each API process caches session rows (user, role, permission keys) per user id and LISTENs on
-- touch_crm_auth to drop them (services/src/auth/session-cache.ts). These triggers announce every
-- change a session row depends on, whatever statement makes it: `u:<user id>` for a user, `r:<role
-- id>` for a role (a permission edit bumps roles.permissions_version through
-- role_permissions_bump_version, so it arrives as a role change too). The notification is sent at
-- commit, and identical ones in one transaction are sent once.
CREATE FUNCTION notify_auth_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('touch_crm_auth', 'u:' || OLD.id);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER users_notify_auth_change AFTER UPDATE ON users
  FOR EACH ROW WHEN (
    (OLD.username, OLD.full_name, OLD.email, OLD.role_id, OLD.is_active, OLD.must_change_password, OLD.token_version)
    IS DISTINCT FROM
    (NEW.username, NEW.full_name, NEW.email, NEW.role_id, NEW.is_active, NEW.must_change_password, NEW.token_version)
  ) EXECUTE FUNCTION notify_auth_user_change();
--> statement-breakpoint
CREATE TRIGGER users_notify_auth_delete AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION notify_auth_user_change();
--> statement-breakpoint
CREATE FUNCTION notify_auth_role_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('touch_crm_auth', 'r:' || OLD.id);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER roles_notify_auth_change AFTER UPDATE ON roles
  FOR EACH ROW WHEN (
    (OLD.name, OLD.permissions_version) IS DISTINCT FROM (NEW.name, NEW.permissions_version)
  ) EXECUTE FUNCTION notify_auth_role_change();
--> statement-breakpoint
CREATE TRIGGER roles_notify_auth_delete AFTER DELETE ON roles
  FOR EACH ROW EXECUTE FUNCTION notify_auth_role_change();
--> statement-breakpoint
-- Belt and braces for role_permissions: the version bump above already announces the role, but a
-- TRUNCATE fires no row trigger.
CREATE FUNCTION notify_auth_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('touch_crm_auth', '*');
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER role_permissions_notify_auth_truncate AFTER TRUNCATE ON role_permissions
  FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_all();
