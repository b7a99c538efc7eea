package sim

// name is one Persian name with the Latin spelling Iranian passports and bank
// cards commonly print for it.
type name struct{ fa, en string }

// The lists below are common Iranian first names and surnames. They are data,
// not code: appending to a list changes every book generated after it (a
// draw picks an index), so the golden test in book_test.go notices; add names
// only together with an updated golden file.
//
// The Persian spellings use the Persian letters yeh (U+06CC) and keheh
// (U+06A9), never their Arabic look-alikes (U+064A, U+0643), as Iranian banks
// print them; a test holds every name to that. Compound surnames keep their
// zero-width non-joiner (U+200C), written as an escape so that it shows here,
// because people type those names with it and the rails must cope.

var firstNamesMale = []name{
	{"محمد", "Mohammad"}, {"علی", "Ali"}, {"حسین", "Hossein"}, {"رضا", "Reza"},
	{"مهدی", "Mahdi"}, {"امیر", "Amir"}, {"حسن", "Hasan"}, {"مصطفی", "Mostafa"},
	{"سعید", "Saeed"}, {"مجید", "Majid"}, {"حمید", "Hamid"}, {"احمد", "Ahmad"},
	{"جواد", "Javad"}, {"محسن", "Mohsen"}, {"امید", "Omid"}, {"بهزاد", "Behzad"},
	{"فرهاد", "Farhad"}, {"کامران", "Kamran"}, {"داریوش", "Dariush"}, {"سینا", "Sina"},
	{"آرش", "Arash"}, {"بابک", "Babak"}, {"پویا", "Pouya"}, {"میلاد", "Milad"},
	{"یوسف", "Yousef"}, {"ابراهیم", "Ebrahim"}, {"اسماعیل", "Esmaeil"}, {"مرتضی", "Morteza"},
	{"هادی", "Hadi"}, {"وحید", "Vahid"}, {"نیما", "Nima"}, {"کیوان", "Keyvan"},
	{"محمدرضا", "Mohammadreza"}, {"علیرضا", "Alireza"}, {"امیرحسین", "Amirhossein"}, {"ابوالفضل", "Abolfazl"},
	{"سجاد", "Sajjad"}, {"عباس", "Abbas"}, {"کوروش", "Kourosh"}, {"بهرام", "Bahram"},
}

var firstNamesFemale = []name{
	{"فاطمه", "Fatemeh"}, {"زهرا", "Zahra"}, {"مریم", "Maryam"}, {"زینب", "Zeynab"},
	{"معصومه", "Masoumeh"}, {"سارا", "Sara"}, {"نرگس", "Narges"}, {"لیلا", "Leila"},
	{"مینا", "Mina"}, {"الهام", "Elham"}, {"سمیرا", "Samira"}, {"نازنین", "Nazanin"},
	{"پریسا", "Parisa"}, {"شیرین", "Shirin"}, {"مهسا", "Mahsa"}, {"ستاره", "Setareh"},
	{"فرزانه", "Farzaneh"}, {"آزاده", "Azadeh"}, {"نگار", "Negar"}, {"هانیه", "Haniyeh"},
	{"ریحانه", "Reyhaneh"}, {"کوثر", "Kowsar"}, {"طاهره", "Tahereh"}, {"اعظم", "Azam"},
	{"رویا", "Roya"}, {"سمانه", "Samaneh"}, {"شهرزاد", "Shahrzad"}, {"یاسمن", "Yasaman"},
	{"هستی", "Hasti"}, {"ملیکا", "Melika"}, {"فرشته", "Fereshteh"}, {"مهناز", "Mahnaz"},
	{"پروین", "Parvin"}, {"سودابه", "Soudabeh"}, {"بهاره", "Bahareh"}, {"نسرین", "Nasrin"},
	{"آیدا", "Aida"}, {"ترانه", "Taraneh"}, {"گلناز", "Golnaz"}, {"نیلوفر", "Niloufar"},
}

var surnames = []name{
	{"محمدی", "Mohammadi"}, {"حسینی", "Hosseini"}, {"احمدی", "Ahmadi"}, {"رضایی", "Rezaei"},
	{"موسوی", "Mousavi"}, {"کریمی", "Karimi"}, {"جعفری", "Jafari"}, {"رحیمی", "Rahimi"},
	{"هاشمی", "Hashemi"}, {"قاسمی", "Ghasemi"}, {"صادقی", "Sadeghi"}, {"کاظمی", "Kazemi"},
	{"اکبری", "Akbari"}, {"ابراهیمی", "Ebrahimi"}, {"حیدری", "Heydari"}, {"نوری", "Nouri"},
	{"عباسی", "Abbasi"}, {"زارعی", "Zarei"}, {"محمودی", "Mahmoudi"}, {"یوسفی", "Yousefi"},
	{"علوی", "Alavi"}, {"مرادی", "Moradi"}, {"سلیمانی", "Soleimani"}, {"باقری", "Bagheri"},
	{"شریفی", "Sharifi"}, {"طاهری", "Taheri"}, {"عزیزی", "Azizi"}, {"نجفی", "Najafi"},
	{"امیری", "Amiri"}, {"فرهادی", "Farhadi"}, {"کرمانی", "Kermani"}, {"تهرانی", "Tehrani"},
	{"شیرازی", "Shirazi"}, {"اصفهانی", "Esfahani"}, {"تبریزی", "Tabrizi"}, {"رستمی", "Rostami"},
	{"خسروی", "Khosravi"}, {"بهرامی", "Bahrami"}, {"نظری", "Nazari"}, {"ملکی", "Maleki"},
	{"صالحی", "Salehi"}, {"فتحی", "Fathi"}, {"قربانی", "Ghorbani"}, {"میرزایی", "Mirzaei"},
	{"حسین\u200cزاده", "Hosseinzadeh"}, {"علی\u200cزاده", "Alizadeh"}, {"رضازاده", "Rezazadeh"},
	{"حسن\u200cزاده", "Hasanzadeh"}, {"نیک\u200cنام", "Niknam"}, {"پورمحمدی", "Pourmohammadi"},
	{"جهانگیری", "Jahangiri"}, {"افشار", "Afshar"}, {"توکلی", "Tavakoli"}, {"سبحانی", "Sobhani"},
	{"دهقان", "Dehghan"}, {"کیانی", "Kiani"}, {"منصوری", "Mansouri"}, {"اسدی", "Asadi"},
	{"بیگی", "Beigi"}, {"شجاعی", "Shojaei"},
}
