<?php
/**
 * Plugin Name: Lakehouse test content types and table endpoints
 * Description: What real sites add and the pipeline must follow: a custom post type (`book`,
 *              REST base `books`) with a custom taxonomy (`genre`) and registered post meta
 *              (`isbn`), and whole-table endpoints built like the original pipeline's
 *              "mysqlendpoints": `$wpdb->get_results` answered as a JSON array, so every value is
 *              a JSON string and the key is whatever the table's key is.
 *              Installed by test/wordpress/setup.sh into wp-content/mu-plugins/.
 */
add_action( 'init', function () {
	register_post_type( 'book', array(
		'public'       => true,
		'label'        => 'Books',
		'show_in_rest' => true,
		'rest_base'    => 'books',
		'supports'     => array( 'title', 'editor', 'excerpt', 'thumbnail', 'custom-fields' ),
	) );
	register_taxonomy( 'genre', 'book', array(
		'label'        => 'Genres',
		'public'       => true,
		'hierarchical' => true,
		'show_in_rest' => true,
		'rest_base'    => 'genres',
	) );
	register_post_meta( 'book', 'isbn', array(
		'type'         => 'string',
		'single'       => true,
		'default'      => '',
		'show_in_rest' => true,
	) );
} );

add_action( 'rest_api_init', function () {
	global $wpdb;
	$tables = array(
		'terms'              => "SELECT * FROM {$wpdb->terms} ORDER BY term_id",
		'term_taxonomy'      => "SELECT * FROM {$wpdb->term_taxonomy} ORDER BY term_taxonomy_id",
		'term_relationships' => "SELECT * FROM {$wpdb->term_relationships} ORDER BY object_id, term_taxonomy_id",
		// Keyed by page_id (a post's or a page's, as in WP Statistics), while id (the author) repeats:
		// a site has more published posts and pages than authors.
		'page_authors'       => "SELECT ID AS page_id, post_author AS id, post_title, post_date, DATE(post_date) AS published_on, menu_order FROM {$wpdb->posts} WHERE post_type IN ('post', 'page') AND post_status = 'publish' ORDER BY ID",
	);
	foreach ( $tables as $name => $sql ) {
		register_rest_route( 'lakehouse-test/v1', "/$name", array(
			'methods'             => 'GET',
			'permission_callback' => '__return_true',
			'callback'            => function () use ( $sql ) {
				global $wpdb;
				return $wpdb->get_results( $sql );
			},
		) );
	}
} );
