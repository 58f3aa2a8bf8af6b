<?php
/**
 * Loads WordPress from the command line for the site at $site_url (set by the including script,
 * which must include this file at its top level: wp-config.php and wp-settings.php declare
 * globals such as $table_prefix as plain variables, so loading them inside a function breaks
 * them). Debian's wp-config.php picks /etc/wordpress/config-<host>.php from HTTP_HOST, and
 * WordPress builds URLs from it, so the script is made to look like a request to that URL.
 */
$lakehouse_url = parse_url( $site_url );
$_SERVER['HTTP_HOST']      = $lakehouse_url['host'] . ( isset( $lakehouse_url['port'] ) ? ':' . $lakehouse_url['port'] : '' );
$_SERVER['SERVER_NAME']    = $lakehouse_url['host'];
$_SERVER['SERVER_PORT']    = $lakehouse_url['port'] ?? 80;
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require ( getenv( 'WP_ROOT' ) ?: '/usr/share/wordpress' ) . '/wp-load.php';
