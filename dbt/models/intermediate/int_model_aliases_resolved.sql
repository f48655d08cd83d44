-- Every accepted spelling of a catalog model, keyed by name_key: the canonical name itself and
-- each alias. A canonical name wins over an alias with the same key.
{{ catalog_spellings(ref('stg_catalog__models'), ref('model_aliases'), 'model_name') }}
