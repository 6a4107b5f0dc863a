"""Geolocation with the Base Adresse Nationale: the geocoder client (`client`), the national
address map's correction links (`map_links`) and the distance helpers of the search
(`distance`). Each module is imported on its own: the database engine needs only `distance`."""
