<?php
/**
 * Plugin Name: WP Bench meta
 * Description: Exposes two post meta keys in the REST API `meta` object, the way
 *              many real plugins do (register_post_meta + show_in_rest).
 *              Installed by test/wordpress/setup.sh into wp-content/mu-plugins/.
 */
add_action( 'init', function () {
	register_post_meta( 'post', 'reading_time', array(
		'type'         => 'integer',
		'single'       => true,
		'default'      => 0,
		'show_in_rest' => true,
		'description'  => 'Estimated reading time in minutes',
	) );
	register_post_meta( 'post', 'subtitle', array(
		'type'         => 'string',
		'single'       => true,
		'default'      => '',
		'show_in_rest' => true,
	) );
} );
