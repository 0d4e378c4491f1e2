-- Paymenter v1 tables (v1.5.8), in the shape Laravel's migrations give them on
-- MariaDB: bigint unsigned ids, VARCHAR(255) strings, DECIMAL(17,2) money,
-- nullable TIMESTAMP created_at/updated_at, Laravel's index and foreign key
-- names. Source: shared/reference/paymenter.md, section 1.
--
-- Conventions this file keeps so that schema.Create can run it statement by
-- statement on MariaDB 10.11 and on the embedded go-mysql-server engine:
--   * one statement per block, ended by ";" at the end of a line;
--   * comments only on lines of their own, starting with "--";
--   * tables in foreign-key order (a table after every table it references);
--   * JSON columns are declared JSON (MariaDB turns that into LONGTEXT with a
--     json_valid CHECK, exactly as Laravel's `json` does there).
-- Where the reference does not state a column's nullability, the column
-- follows Laravel's default (NOT NULL) unless Paymenter's code writes NULLs.

CREATE TABLE `roles` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(255) NOT NULL,
  `permissions` JSON NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- role_id has an index but no foreign key (NULL = customer).
CREATE TABLE `users` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `first_name` VARCHAR(255) NULL,
  `last_name` VARCHAR(255) NULL,
  `email` VARCHAR(255) NOT NULL,
  `role_id` BIGINT UNSIGNED NULL,
  `email_verified_at` TIMESTAMP NULL DEFAULT NULL,
  `password` VARCHAR(255) NOT NULL,
  `tfa_secret` TEXT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `users_email_unique` (`email`),
  KEY `users_role_id_index` (`role_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `currencies` (
  `code` VARCHAR(3) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `prefix` VARCHAR(255) NULL,
  `suffix` VARCHAR(255) NULL,
  `format` ENUM('1.000,00','1,000.00','1 000,00','1 000.00') NOT NULL DEFAULT '1.000,00',
  PRIMARY KEY (`code`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `categories` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `slug` VARCHAR(255) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `description` TEXT NULL,
  `image` VARCHAR(255) NULL,
  `parent_id` BIGINT UNSIGNED NULL,
  `full_slug` TEXT NULL,
  `sort` TINYINT UNSIGNED NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `categories_slug_unique` (`slug`),
  KEY `categories_parent_id_foreign` (`parent_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The self-reference is added after the table exists: the embedded engine
-- cannot reference a table's primary key inside its own CREATE TABLE.
ALTER TABLE `categories` ADD CONSTRAINT `categories_parent_id_foreign` FOREIGN KEY (`parent_id`) REFERENCES `categories` (`id`);

-- Server, gateway and "other" extension instances. App\Models\Server and
-- App\Models\Gateway are this table filtered by `type`; there is no servers
-- table.
CREATE TABLE `extensions` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(255) NOT NULL,
  `extension` VARCHAR(255) NOT NULL,
  `type` VARCHAR(255) NOT NULL,
  `enabled` TINYINT(1) NOT NULL DEFAULT 0,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  `deleted_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- server_id points at extensions.id (type = 'server') without a foreign key.
CREATE TABLE `products` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `category_id` BIGINT UNSIGNED NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `image` VARCHAR(255) NULL,
  `slug` VARCHAR(255) NULL,
  `description` TEXT NULL,
  `stock` INT NULL,
  `per_user_limit` INT NULL,
  `sort` TINYINT UNSIGNED NULL,
  `allow_quantity` ENUM('disabled','separated','combined') NOT NULL DEFAULT 'disabled',
  `server_id` BIGINT UNSIGNED NULL,
  `email_template` TEXT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  `hidden` TINYINT(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `products_category_id_foreign` (`category_id`),
  CONSTRAINT `products_category_id_foreign` FOREIGN KEY (`category_id`) REFERENCES `categories` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `product_upgrades` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `product_id` BIGINT UNSIGNED NOT NULL,
  `upgrade_id` BIGINT UNSIGNED NOT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `product_upgrades_product_id_foreign` (`product_id`),
  KEY `product_upgrades_upgrade_id_foreign` (`upgrade_id`),
  CONSTRAINT `product_upgrades_product_id_foreign` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE CASCADE,
  CONSTRAINT `product_upgrades_upgrade_id_foreign` FOREIGN KEY (`upgrade_id`) REFERENCES `products` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Billing cycles of products (priceable_type App\Models\Product) and of
-- config option values (App\Models\ConfigOption). No timestamps.
CREATE TABLE `plans` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(255) NULL,
  `priceable_type` VARCHAR(255) NOT NULL,
  `priceable_id` BIGINT UNSIGNED NOT NULL,
  `type` ENUM('free','one-time','recurring') NOT NULL,
  `billing_period` INT NULL,
  `billing_unit` ENUM('hour','day','week','month','year') NULL,
  `sort` TINYINT UNSIGNED NULL,
  PRIMARY KEY (`id`),
  KEY `plans_priceable_type_priceable_id_index` (`priceable_type`, `priceable_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per (plan, currency); plan_id has neither a foreign key nor an index.
CREATE TABLE `prices` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `price` DECIMAL(17,2) NULL,
  `setup_fee` DECIMAL(17,2) NULL,
  `currency_code` VARCHAR(3) NOT NULL,
  `plan_id` BIGINT UNSIGNED NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `config_options` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(255) NOT NULL,
  `description` TEXT NULL,
  `env_variable` VARCHAR(255) NULL,
  `type` VARCHAR(255) NULL,
  `sort` TINYINT UNSIGNED NULL,
  `hidden` TINYINT(1) NOT NULL DEFAULT 0,
  `upgradable` TINYINT(1) NOT NULL DEFAULT 0,
  `parent_id` BIGINT UNSIGNED NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `config_options_parent_id_foreign` (`parent_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The self-reference is added after the table exists: the embedded engine
-- cannot reference a table's primary key inside its own CREATE TABLE.
ALTER TABLE `config_options` ADD CONSTRAINT `config_options_parent_id_foreign` FOREIGN KEY (`parent_id`) REFERENCES `config_options` (`id`) ON DELETE CASCADE;

CREATE TABLE `config_option_products` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `config_option_id` BIGINT UNSIGNED NOT NULL,
  `product_id` BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (`id`),
  KEY `config_option_products_config_option_id_foreign` (`config_option_id`),
  KEY `config_option_products_product_id_foreign` (`product_id`),
  CONSTRAINT `config_option_products_config_option_id_foreign` FOREIGN KEY (`config_option_id`) REFERENCES `config_options` (`id`) ON DELETE CASCADE,
  CONSTRAINT `config_option_products_product_id_foreign` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `coupons` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `type` VARCHAR(255) NOT NULL,
  `applies_to` VARCHAR(255) NOT NULL DEFAULT 'all',
  `recurring` INT NULL,
  `code` VARCHAR(255) NOT NULL,
  `value` DECIMAL(17,2) NULL,
  `max_uses` INT NULL,
  `max_uses_per_user` INT NULL,
  `starts_at` DATETIME NULL,
  `expires_at` DATETIME NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `coupon_products` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `coupon_id` BIGINT UNSIGNED NOT NULL,
  `product_id` BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (`id`),
  KEY `coupon_products_coupon_id_foreign` (`coupon_id`),
  KEY `coupon_products_product_id_foreign` (`product_id`),
  CONSTRAINT `coupon_products_coupon_id_foreign` FOREIGN KEY (`coupon_id`) REFERENCES `coupons` (`id`) ON DELETE CASCADE,
  CONSTRAINT `coupon_products_product_id_foreign` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `orders` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `user_id` BIGINT UNSIGNED NOT NULL,
  `currency_code` VARCHAR(3) NOT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `orders_user_id_foreign` (`user_id`),
  CONSTRAINT `orders_user_id_foreign` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Saved gateway payment methods; services may charge one on renewal.
CREATE TABLE `billing_agreements` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `ulid` CHAR(26) NOT NULL,
  `user_id` BIGINT UNSIGNED NOT NULL,
  `gateway_id` BIGINT UNSIGNED NOT NULL,
  `name` VARCHAR(255) NULL,
  `type` VARCHAR(255) NULL,
  `expiry` DATE NULL,
  `external_reference` VARCHAR(255) NOT NULL,
  `deleted_at` TIMESTAMP NULL DEFAULT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `billing_agreements_ulid_unique` (`ulid`),
  UNIQUE KEY `billing_agreements_external_reference_unique` (`external_reference`),
  KEY `billing_agreements_user_id_foreign` (`user_id`),
  KEY `billing_agreements_gateway_id_foreign` (`gateway_id`),
  CONSTRAINT `billing_agreements_user_id_foreign` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
  CONSTRAINT `billing_agreements_gateway_id_foreign` FOREIGN KEY (`gateway_id`) REFERENCES `extensions` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- price is the recurring per-unit price; expires_at is a naive DATETIME in
-- the panel's timezone (setting `timezone`).
CREATE TABLE `services` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `status` VARCHAR(255) NOT NULL DEFAULT 'pending',
  `order_id` BIGINT UNSIGNED NULL,
  `product_id` BIGINT UNSIGNED NULL,
  `user_id` BIGINT UNSIGNED NOT NULL,
  `currency_code` VARCHAR(3) NOT NULL,
  `quantity` INT NOT NULL DEFAULT 1,
  `price` DECIMAL(17,2) NOT NULL,
  `plan_id` BIGINT UNSIGNED NULL,
  `coupon_id` BIGINT UNSIGNED NULL,
  `expires_at` DATETIME NULL,
  `subscription_id` VARCHAR(255) NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  `billing_agreement_id` BIGINT UNSIGNED NULL,
  `label` VARCHAR(255) NULL,
  PRIMARY KEY (`id`),
  KEY `services_order_id_foreign` (`order_id`),
  KEY `services_product_id_foreign` (`product_id`),
  KEY `services_user_id_foreign` (`user_id`),
  KEY `services_plan_id_foreign` (`plan_id`),
  KEY `services_coupon_id_foreign` (`coupon_id`),
  KEY `services_billing_agreement_id_foreign` (`billing_agreement_id`),
  CONSTRAINT `services_order_id_foreign` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE CASCADE,
  CONSTRAINT `services_product_id_foreign` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE SET NULL,
  CONSTRAINT `services_user_id_foreign` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
  CONSTRAINT `services_plan_id_foreign` FOREIGN KEY (`plan_id`) REFERENCES `plans` (`id`) ON DELETE SET NULL,
  CONSTRAINT `services_coupon_id_foreign` FOREIGN KEY (`coupon_id`) REFERENCES `coupons` (`id`) ON DELETE SET NULL,
  CONSTRAINT `services_billing_agreement_id_foreign` FOREIGN KEY (`billing_agreement_id`) REFERENCES `billing_agreements` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `service_cancellations` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `service_id` BIGINT UNSIGNED NOT NULL,
  `reason` TEXT NULL,
  `type` ENUM('immediate','end_of_period') NOT NULL DEFAULT 'immediate',
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `service_cancellations_service_id_foreign` (`service_id`),
  CONSTRAINT `service_cancellations_service_id_foreign` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Selected select/radio/slider/checkbox values of a service
-- (configurable_type App\Models\Service) or of a pending upgrade
-- (App\Models\ServiceUpgrade).
CREATE TABLE `service_configs` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `configurable_type` VARCHAR(255) NOT NULL,
  `configurable_id` BIGINT UNSIGNED NOT NULL,
  `config_option_id` BIGINT UNSIGNED NOT NULL,
  `config_value_id` BIGINT UNSIGNED NOT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `service_configs_configurable_type_configurable_id_index` (`configurable_type`, `configurable_id`),
  KEY `service_configs_config_option_id_foreign` (`config_option_id`),
  KEY `service_configs_config_value_id_foreign` (`config_value_id`),
  CONSTRAINT `service_configs_config_option_id_foreign` FOREIGN KEY (`config_option_id`) REFERENCES `config_options` (`id`) ON DELETE CASCADE,
  CONSTRAINT `service_configs_config_value_id_foreign` FOREIGN KEY (`config_value_id`) REFERENCES `config_options` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- There is no stored total: total = sum(items.price * items.quantity).
-- number stays NULL until payment when the setting invoice_proforma is on.
CREATE TABLE `invoices` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `number` VARCHAR(255) NULL,
  `status` VARCHAR(255) NOT NULL DEFAULT 'pending',
  `due_at` DATE NULL,
  `currency_code` VARCHAR(3) NOT NULL,
  `user_id` BIGINT UNSIGNED NOT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `invoices_number_unique` (`number`),
  KEY `invoices_user_id_foreign` (`user_id`),
  CONSTRAINT `invoices_user_id_foreign` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- reference_type App\Models\Service renews that service when the invoice is
-- paid, App\Models\ServiceUpgrade applies the upgrade, App\Models\Credit adds
-- credit; any other type is left alone by Paymenter.
CREATE TABLE `invoice_items` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `invoice_id` BIGINT UNSIGNED NOT NULL,
  `price` DECIMAL(17,2) NOT NULL,
  `quantity` INT NOT NULL DEFAULT 1,
  `description` VARCHAR(255) NULL,
  `reference_type` VARCHAR(255) NULL,
  `reference_id` BIGINT UNSIGNED NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `invoice_items_invoice_id_foreign` (`invoice_id`),
  KEY `invoice_items_reference_type_reference_id_index` (`reference_type`, `reference_id`),
  CONSTRAINT `invoice_items_invoice_id_foreign` FOREIGN KEY (`invoice_id`) REFERENCES `invoices` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `invoice_transactions` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `invoice_id` BIGINT UNSIGNED NOT NULL,
  `gateway_id` BIGINT UNSIGNED NULL,
  `amount` DECIMAL(17,2) NOT NULL,
  `fee` DECIMAL(17,2) NULL,
  `transaction_id` VARCHAR(255) NULL,
  `status` VARCHAR(255) NOT NULL DEFAULT 'succeeded',
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  `is_credit_transaction` TINYINT(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `invoice_transactions_invoice_id_foreign` (`invoice_id`),
  KEY `invoice_transactions_gateway_id_foreign` (`gateway_id`),
  CONSTRAINT `invoice_transactions_invoice_id_foreign` FOREIGN KEY (`invoice_id`) REFERENCES `invoices` (`id`) ON DELETE CASCADE,
  CONSTRAINT `invoice_transactions_gateway_id_foreign` FOREIGN KEY (`gateway_id`) REFERENCES `extensions` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `invoice_snapshots` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(255) NULL,
  `properties` JSON NULL,
  `tax_name` VARCHAR(255) NULL,
  `tax_rate` DECIMAL(5,2) NULL,
  `tax_country` VARCHAR(255) NULL,
  `bill_to` TEXT NULL,
  `invoice_id` BIGINT UNSIGNED NOT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `invoice_snapshots_invoice_id_foreign` (`invoice_id`),
  CONSTRAINT `invoice_snapshots_invoice_id_foreign` FOREIGN KEY (`invoice_id`) REFERENCES `invoices` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `service_upgrades` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `service_id` BIGINT UNSIGNED NOT NULL,
  `plan_id` BIGINT UNSIGNED NOT NULL,
  `product_id` BIGINT UNSIGNED NOT NULL,
  `invoice_id` BIGINT UNSIGNED NULL,
  `status` VARCHAR(255) NOT NULL DEFAULT 'pending',
  `type` VARCHAR(255) NOT NULL DEFAULT 'product',
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `service_upgrades_service_id_foreign` (`service_id`),
  KEY `service_upgrades_plan_id_foreign` (`plan_id`),
  KEY `service_upgrades_product_id_foreign` (`product_id`),
  KEY `service_upgrades_invoice_id_foreign` (`invoice_id`),
  CONSTRAINT `service_upgrades_service_id_foreign` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE CASCADE,
  CONSTRAINT `service_upgrades_plan_id_foreign` FOREIGN KEY (`plan_id`) REFERENCES `plans` (`id`) ON DELETE CASCADE,
  CONSTRAINT `service_upgrades_product_id_foreign` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE CASCADE,
  CONSTRAINT `service_upgrades_invoice_id_foreign` FOREIGN KEY (`invoice_id`) REFERENCES `invoices` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `custom_properties` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(255) NOT NULL,
  `description` VARCHAR(255) NULL,
  `key` VARCHAR(255) NOT NULL,
  `type` VARCHAR(255) NOT NULL,
  `model` VARCHAR(255) NOT NULL,
  `validation` VARCHAR(255) NULL,
  `allowed_values` JSON NULL,
  `non_editable` TINYINT(1) NOT NULL DEFAULT 0,
  `required` TINYINT(1) NOT NULL DEFAULT 0,
  `show_on_invoice` TINYINT(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `custom_properties_key_unique` (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- User fields and service properties (text/number config options,
-- checkout-config fields of server extensions).
CREATE TABLE `properties` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `custom_property_id` BIGINT UNSIGNED NULL,
  `name` VARCHAR(255) NULL,
  `key` VARCHAR(255) NOT NULL,
  `value` TEXT NOT NULL,
  `model_type` VARCHAR(255) NOT NULL,
  `model_id` BIGINT UNSIGNED NOT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `properties_key_model_id_model_type_unique` (`key`, `model_id`, `model_type`),
  KEY `properties_model_type_model_id_index` (`model_type`, `model_id`),
  KEY `properties_custom_property_id_foreign` (`custom_property_id`),
  CONSTRAINT `properties_custom_property_id_foreign` FOREIGN KEY (`custom_property_id`) REFERENCES `custom_properties` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Global settings have settingable_type NULL; server instance settings have
-- App\Models\Server and the extension id; a product's per-server settings
-- have App\Models\Product. encrypted = 1 means `value` is a Laravel
-- Crypt::encryptString payload under APP_KEY. Note that the unique key does
-- not stop duplicate global rows: NULLs never compare equal.
CREATE TABLE `settings` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `key` VARCHAR(255) NOT NULL,
  `value` TEXT NULL,
  `type` VARCHAR(255) NOT NULL DEFAULT 'string',
  `encrypted` TINYINT(1) NOT NULL DEFAULT 0,
  `settingable_type` VARCHAR(255) NULL,
  `settingable_id` BIGINT UNSIGNED NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `settings_key_settingable_id_settingable_type_unique` (`key`, `settingable_id`, `settingable_type`),
  KEY `settings_settingable_type_settingable_id_index` (`settingable_type`, `settingable_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `credits` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `user_id` BIGINT UNSIGNED NOT NULL,
  `currency_code` VARCHAR(3) NOT NULL,
  `amount` DECIMAL(17,2) NOT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `credits_user_id_foreign` (`user_id`),
  CONSTRAINT `credits_user_id_foreign` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- token is the sha256 hex of the plaintext key (PAYM + 64 hex characters).
CREATE TABLE `api_keys` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(255) NOT NULL,
  `permissions` JSON NULL,
  `token` VARCHAR(255) NOT NULL,
  `user_id` BIGINT UNSIGNED NULL,
  `type` VARCHAR(255) NULL,
  `ip_addresses` JSON NULL,
  `last_used_at` DATETIME NULL,
  `enabled` TINYINT(1) NOT NULL DEFAULT 1,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `api_keys_token_unique` (`token`),
  KEY `api_keys_user_id_foreign` (`user_id`),
  CONSTRAINT `api_keys_user_id_foreign` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `tax_rates` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(255) NOT NULL,
  `rate` DECIMAL(5,2) NOT NULL,
  `country` VARCHAR(255) NOT NULL,
  `created_at` TIMESTAMP NULL DEFAULT NULL,
  `updated_at` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `tax_rates_country_unique` (`country`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
