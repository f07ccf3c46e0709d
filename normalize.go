package bellhop

import "strings"

// fold maps the Latin letters with diacritics that hotel guest names commonly
// carry to plain ASCII; lock systems often accept ASCII only.
var fold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "å", "a", "ą", "a", "ā", "a",
	"Á", "A", "À", "A", "Â", "A", "Ä", "A", "Ã", "A", "Å", "A", "Ą", "A", "Ā", "A",
	"č", "c", "ç", "c", "ć", "c", "Č", "C", "Ç", "C", "Ć", "C",
	"ď", "d", "đ", "d", "Ď", "D", "Đ", "D",
	"é", "e", "è", "e", "ê", "e", "ë", "e", "ě", "e", "ę", "e", "ē", "e",
	"É", "E", "È", "E", "Ê", "E", "Ë", "E", "Ě", "E", "Ę", "E", "Ē", "E",
	"í", "i", "ì", "i", "î", "i", "ï", "i", "ī", "i", "Í", "I", "Ì", "I", "Î", "I", "Ï", "I", "Ī", "I",
	"ľ", "l", "ĺ", "l", "ł", "l", "Ľ", "L", "Ĺ", "L", "Ł", "L",
	"ň", "n", "ñ", "n", "ń", "n", "Ň", "N", "Ñ", "N", "Ń", "N",
	"ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o", "ø", "o", "ő", "o", "ō", "o",
	"Ó", "O", "Ò", "O", "Ô", "O", "Ö", "O", "Õ", "O", "Ø", "O", "Ő", "O", "Ō", "O",
	"ř", "r", "ŕ", "r", "Ř", "R", "Ŕ", "R",
	"š", "s", "ś", "s", "ş", "s", "Š", "S", "Ś", "S", "Ş", "S", "ß", "ss",
	"ť", "t", "ţ", "t", "Ť", "T", "Ţ", "T",
	"ú", "u", "ù", "u", "û", "u", "ü", "u", "ů", "u", "ű", "u", "ū", "u",
	"Ú", "U", "Ù", "U", "Û", "U", "Ü", "U", "Ů", "U", "Ű", "U", "Ū", "U",
	"ý", "y", "ÿ", "y", "Ý", "Y", "ž", "z", "ź", "z", "ż", "z", "Ž", "Z", "Ź", "Z", "Ż", "Z",
	"æ", "ae", "Æ", "AE", "œ", "oe", "Œ", "OE",
)

// Normalize returns name with diacritics folded to ASCII and every other
// character that is not a letter, digit, space, hyphen or apostrophe removed:
// the "special characters removed" form of NormalizedFirstName/LastName.
func Normalize(name string) string {
	s := fold.Replace(name)
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '-' || r == '\'') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
