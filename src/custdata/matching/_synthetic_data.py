"""Name, street, city and phone tables for the synthetic customer generator (five countries)."""

from __future__ import annotations

from typing import NamedTuple


class Country(NamedTuple):
    code: str
    given: tuple[str, ...]
    family: tuple[str, ...]
    streets: tuple[str, ...]
    street_types: tuple[tuple[str, tuple[str, ...]], ...]  # full word and its abbreviations
    cities: tuple[tuple[str, tuple[str, ...]], ...]  # city and its postal code prefixes
    phone_prefixes: tuple[str, ...]  # national significant number prefixes
    phone_length: int  # digits of the national significant number
    email_domains: tuple[str, ...]


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.replace("_", " ") for w in text.split())


_EN_GIVEN = _words(
    "James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony "
    "Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan "
    "Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander "
    "Patrick Frank Raymond Jack Dennis Jerry Oliver Harry Alfie Mary Patricia Jennifer Linda Elizabeth Barbara "
    "Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol "
    "Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna "
    "Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Rachel Carolyn Janet Catherine Maria Heather "
    "Victoria Abigail Olivia Sophie Chloe Grace"
)
_US_FAMILY = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes "
    "Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard "
    "Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price "
    "Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez O'Brien McDonald Sullivan Fitzgerald "
    "Schneider Kowalski Nowak Olsen Larsen Hansen Becker Schultz Meyer Weber Russo Romano Ricci Bianchi Chen "
    "Wang Li Zhang Liu Yang Singh Shah Khan Tran Pham Vu"
)
_GB_FAMILY = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright "
    "Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill "
    "Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker "
    "Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller "
    "Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb "
    "Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler "
    "Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson "
    "Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole "
    "Atkinson Bradley Spencer Gill Dawson Ball Burton O'Connor Watts Rose Booth Perry Ryan Grant Wells"
)
_DE_GIVEN = _words(
    "Peter Michael Thomas Andreas Wolfgang Klaus Jürgen Stefan Christian Uwe Werner Frank Hans Bernd Markus "
    "Matthias Sebastian Alexander Tobias Jan Lukas Jonas Maximilian Florian Dieter Günter Horst Manfred Heinz "
    "Helmut Jörg Ralf Sven Dirk Torsten Johannes Friedrich Wilhelm Karl Paul Felix Leon Niklas Ursula Monika "
    "Petra Elisabeth Sabine Renate Helga Karin Brigitte Ingrid Andrea Birgit Gabriele Claudia Susanne Stefanie "
    "Julia Katharina Anna Laura Sarah Lena Jana Christina Nicole Anja Martina Jutta Gisela Hannelore Käthe "
    "Sophie Marie Franziska Margarete Dorothea Magdalena Jasmin Lea Hanna Mia Emma Greta Charlotte Tanja"
)
_DE_FAMILY = _words(
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter "
    "Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Schmitz "
    "Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters "
    "Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck "
    "Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt "
    "Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn "
    "Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer Y\u0131lmaz Kaya Nowak Kowalski "
    "Öztürk Popescu Hoxha Ivanov Müller-Lüdenscheidt Hansen Jansen Petersen Lindner Ernst Vogler Dreher"
)
_FR_GIVEN = _words(
    "Jean Pierre Michel André Philippe Alain Jacques Bernard Daniel Christian Nicolas Patrick François Éric "
    "Frédéric Laurent Stéphane Sébastien Julien David Thomas Christophe Olivier Guillaume Antoine Maxime "
    "Alexandre Hugo Lucas Louis Jean-Pierre Jean-Luc Emmanuel Mathieu Romain Théo Marie Nathalie Isabelle "
    "Sylvie Catherine Françoise Martine Christine Monique Valérie Sandrine Stéphanie Céline Julie Aurélie "
    "Camille Léa Manon Chloé Émilie Sophie Caroline Anne Hélène Élodie Marie-Claire Brigitte Dominique "
    "Véronique Emmanuelle Margaux Inès Juliette Pauline Agathe Océane"
)
_FR_FAMILY = _words(
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefebvre Leroy Roux "
    "David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Muller Lefèvre Faure "
    "André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément "
    "Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer "
    "Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard "
    "Roche Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix "
    "Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte Lopez "
    "Fernandez Da_Silva Dos_Santos Nguyen Benali Haddad Le_Gall Le_Goff Kerjean Dupuis Carpentier Hubert"
)
_ES_GIVEN = _words(
    "Antonio José Manuel Francisco David Juan Javier Daniel José_Luis Francisco_Javier Jesús Carlos Alejandro "
    "Miguel José_Antonio Rafael Pedro Ángel Pablo Fernando Sergio Luis Jorge Alberto Álvaro Diego Adrián Raúl "
    "Enrique Ramón Ignacio Guillermo Eduardo Santiago María_Carmen María Carmen Ana_María Laura María_Pilar "
    "Josefa Isabel María_Dolores Cristina Marta Lucía Ana Dolores Sara Paula Elena Pilar Concepción Raquel Rosa "
    "Manuela Mercedes Teresa Rosario Beatriz Alicia Nuria Silvia Irene Julia Patricia Alejandra Guadalupe"
)
_ES_FAMILY = _words(
    "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández Díaz "
    "Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez Ramos Gil Ramírez Serrano "
    "Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio Marín Sanz Núñez Iglesias Medina Garrido "
    "Cortés Castillo Santos Lozano Guerrero Cano Prieto Méndez Cruz Calvo Gallego Herrera Márquez León Peña "
    "Flores Cabrera Campos Vega Fuentes Carrasco Diez Reyes Caballero Nieto Aguilar Pascual Santana Herrero "
    "Montero Lorenzo Hidalgo Giménez Ibáñez Ferrer Durán Santiago Benítez Vargas Mora Vicente Arias Carmona "
    "Crespo Román Pastor Soto Sáez Velasco Moya Soler Parra Esteban Bravo Gallardo Rojas"
)

COUNTRIES: dict[str, Country] = {
    "US": Country(
        "US",
        _EN_GIVEN,
        _US_FAMILY,
        _words(
            "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Lincoln Jefferson Sunset Highland "
            "Jackson Franklin Adams Madison Church Spring Ridge River Willow Chestnut Cherry Meadow Forest Center "
            "Mill Union Locust Spruce Valley Dogwood Laurel Hickory Sycamore Magnolia Lakeview Broad Market"
        ),
        (
            ("Street", ("St", "St.", "Str")),
            ("Avenue", ("Ave", "Ave.", "Av")),
            ("Road", ("Rd", "Rd.")),
            ("Drive", ("Dr", "Dr.")),
            ("Lane", ("Ln",)),
            ("Court", ("Ct",)),
            ("Boulevard", ("Blvd", "Blvd.")),
            ("Place", ("Pl",)),
        ),
        (
            ("New York", ("100", "101", "102")),
            ("Los Angeles", ("900",)),
            ("Chicago", ("606",)),
            ("Houston", ("770",)),
            ("Phoenix", ("850",)),
            ("Philadelphia", ("191",)),
            ("San Antonio", ("782",)),
            ("San Diego", ("921",)),
            ("Dallas", ("752",)),
            ("Austin", ("787",)),
            ("Seattle", ("981",)),
            ("Denver", ("802",)),
            ("Boston", ("021",)),
            ("Portland", ("972",)),
            ("Atlanta", ("303",)),
            ("Miami", ("331",)),
        ),
        ("212", "646", "310", "312", "713", "602", "215", "210", "619", "214", "512", "206", "303", "617", "503"),
        10,
        ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com", "comcast.net"),
    ),
    "GB": Country(
        "GB",
        _EN_GIVEN,
        _GB_FAMILY,
        _words(
            "High Station Main Park Church London Victoria Green Manor Kings Queens Grange Mill New School "
            "Chestnut Windsor Alexandra York Richmond Springfield George Albert Stanley Highfield Queen Elm "
            "Beech Orchard Cromwell Nelson Osborne Clarence Cambridge Oxford Warwick Salisbury Devonshire"
        ),
        (
            ("Street", ("St", "St.")),
            ("Road", ("Rd", "Rd.")),
            ("Lane", ("Ln",)),
            ("Avenue", ("Ave",)),
            ("Gardens", ("Gdns",)),
            ("Drive", ("Dr",)),
            ("Crescent", ("Cres",)),
            ("Terrace", ("Tce",)),
            ("Grove", ("Gr",)),
            ("Close", ("Cl",)),
        ),
        (
            ("London", ("SW1", "E14", "N1", "W2", "SE1", "NW3", "EC1")),
            ("Manchester", ("M1", "M4", "M14")),
            ("Birmingham", ("B1", "B15")),
            ("Leeds", ("LS1", "LS6")),
            ("Glasgow", ("G1", "G12")),
            ("Edinburgh", ("EH1", "EH3")),
            ("Bristol", ("BS1", "BS8")),
            ("Liverpool", ("L1", "L8")),
            ("Cardiff", ("CF10", "CF24")),
            ("Oxford", ("OX1", "OX4")),
            ("Cambridge", ("CB1", "CB2")),
        ),
        ("7700", "7711", "7722", "7800", "7900", "7956", "7400", "7500", "2079", "1614", "1214", "1132"),
        10,
        ("gmail.com", "yahoo.co.uk", "hotmail.co.uk", "btinternet.com", "outlook.com", "sky.com"),
    ),
    "DE": Country(
        "DE",
        _DE_GIVEN,
        _DE_FAMILY,
        _words(
            "Haupt Schul Garten Bahnhof Dorf Berg Kirch Wald Linden Birken Tal Wiesen Mühlen Goethe Schiller "
            "Friedhof Mozart Feld Rosen Buchen Eichen Jahn Kant Beethoven Sonnen Markt Park Ahorn Blumen Raiffeisen "
            "Industrie Frieden Amsel Lessing Uhland Heine Brunnen Burg Tannen"
        ),
        (
            ("straße", ("str.", "str", "strasse", "-Straße", " Straße", " Str.")),
            ("weg", ("weg", "-Weg")),
            ("platz", ("pl.", "platz")),
            ("allee", ("allee",)),
            ("gasse", ("gasse",)),
        ),
        (
            ("Berlin", ("101", "104", "107", "109", "121", "130")),
            ("Hamburg", ("201", "205", "221")),
            ("München", ("803", "806", "809")),
            ("Köln", ("506", "509")),
            ("Frankfurt am Main", ("603", "605")),
            ("Stuttgart", ("701", "704")),
            ("Düsseldorf", ("402", "404")),
            ("Leipzig", ("041", "043")),
            ("Dresden", ("010", "013")),
            ("Hannover", ("301", "305")),
            ("Nürnberg", ("904", "907")),
            ("Bremen", ("281", "283")),
        ),
        ("151", "152", "157", "160", "170", "171", "176", "177", "30", "40", "89", "221", "69"),
        11,
        ("gmail.com", "web.de", "gmx.de", "t-online.de", "yahoo.de", "outlook.de", "posteo.de"),
    ),
    "FR": Country(
        "FR",
        _FR_GIVEN,
        _FR_FAMILY,
        _words(
            "de_la_Paix Victor_Hugo de_la_République Jean_Jaurès du_Général_de_Gaulle Pasteur de_la_Gare "
            "des_Écoles du_Moulin de_l'Église Voltaire Jules_Ferry Nationale des_Lilas du_Château Gambetta Carnot "
            "de_la_Liberté des_Roses du_Stade de_Paris de_Verdun Émile_Zola Foch Molière des_Tilleuls de_Lyon "
            "Anatole_France de_la_Mairie des_Acacias du_Port Saint-Exupéry de_Bretagne Lamartine"
        ),
        (
            ("rue", ("r.", "R.")),
            ("avenue", ("av.", "ave", "Av.")),
            ("boulevard", ("bd", "boul.", "Bd")),
            ("place", ("pl.",)),
            ("chemin", ("ch.", "chem.")),
            ("impasse", ("imp.",)),
            ("allée", ("all.",)),
        ),
        (
            ("Paris", ("750",)),
            ("Lyon", ("690",)),
            ("Marseille", ("130",)),
            ("Toulouse", ("310",)),
            ("Nice", ("060",)),
            ("Nantes", ("440",)),
            ("Strasbourg", ("670",)),
            ("Montpellier", ("340",)),
            ("Bordeaux", ("330",)),
            ("Lille", ("590",)),
            ("Rennes", ("350",)),
        ),
        ("6", "7", "1", "2", "3", "4", "5"),
        9,
        ("gmail.com", "orange.fr", "free.fr", "laposte.net", "sfr.fr", "hotmail.fr", "yahoo.fr", "wanadoo.fr"),
    ),
    "ES": Country(
        "ES",
        _ES_GIVEN,
        _ES_FAMILY,
        _words(
            "Mayor Real de_la_Iglesia del_Sol Nueva de_Cervantes de_la_Constitución San_José del_Carmen de_Goya "
            "Gran_Vía de_Alcalá de_Andalucía de_la_Paz del_Río de_Valencia de_España de_la_Libertad de_Castilla "
            "de_la_Estación de_Toledo del_Prado San_Antonio de_Serrano de_Velázquez de_Colón de_Madrid "
            "de_Barcelona de_Galicia de_los_Reyes_Católicos de_Blasco_Ibáñez del_Pilar de_Zurbarán"
        ),
        (
            ("Calle", ("C/", "C.", "c/", "Cl.")),
            ("Avenida", ("Avda.", "Av.", "Avda")),
            ("Plaza", ("Pza.", "Pl.")),
            ("Paseo", ("Pº", "Po.", "Pso.")),
            ("Camino", ("Cmno.",)),
        ),
        (
            ("Madrid", ("280",)),
            ("Barcelona", ("080",)),
            ("Valencia", ("460",)),
            ("Sevilla", ("410",)),
            ("Zaragoza", ("500",)),
            ("Málaga", ("290",)),
            ("Murcia", ("300",)),
            ("Palma", ("070",)),
            ("Bilbao", ("480",)),
            ("Alicante", ("030",)),
        ),
        ("6", "7", "91", "93", "96", "95"),
        9,
        ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net", "outlook.es", "movistar.es"),
    ),
}
