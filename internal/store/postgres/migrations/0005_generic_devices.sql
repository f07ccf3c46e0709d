-- Whether a subscription sees generic devices (a Type label of their own,
-- such as Pbx). Off for every subscription so far: clients that know only
-- the Mews types never meet one.
ALTER TABLE subscriptions ADD COLUMN generic_devices boolean NOT NULL DEFAULT false;
